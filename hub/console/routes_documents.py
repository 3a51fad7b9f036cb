"""Each agreement version as the information sharing agreement the parties sign, in HTML and
PDF (``hub.agreements.document``), generated from the version the hub enforces."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from hub.agreements.document import Document, agreement_document
from hub.agreements.document_pdf import render_pdf
from hub.console.params import identifier
from hub.console.web import Viewer, console, render
from hub.console.words import Names

router = APIRouter()


def _document(
    request: Request,
    agreement_id: str,
    version: int,
    principal: Viewer,
) -> Document:
    """The path's agreement version as its document, or 404."""
    st = console(request)
    agreement_id = identifier("agreement_id", agreement_id)
    # A partner admin sees the documents of agreements their organisation is party to only.
    found = next(
        (
            a
            for a in st.visible_agreements(principal)
            if a.id == agreement_id and a.version == version
        ),
        None,
    )
    if found is None:
        raise HTTPException(404, "no such agreement version")
    return agreement_document(found, Names.of(st.partnership))


ThisDocument = Annotated[Document, Depends(_document)]


@router.get("/agreements/{agreement_id}/v{version}/document", response_class=HTMLResponse)
def document_page(request: Request, agreement_id: str, version: int, doc: ThisDocument) -> Response:
    return render(request, "document.html", doc=doc, agreement_id=agreement_id, version=version)


@router.get("/agreements/{agreement_id}/v{version}/document.pdf")
def document_pdf(agreement_id: str, version: int, doc: ThisDocument) -> Response:
    return Response(
        render_pdf(doc),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{agreement_id}-v{version}.pdf"'},
    )

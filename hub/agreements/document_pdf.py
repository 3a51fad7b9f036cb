"""The information sharing agreement (``hub.agreements.document``) as a PDF, with fpdf2: pure
Python, no system libraries, so it renders wherever the hub runs.

The PDF's built-in fonts cover Latin-1 only; typographic quotes and dashes are written as
their plain equivalents, and anything else outside Latin-1 as "?" rather than failing the
whole document.
"""

from __future__ import annotations

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from hub.agreements.document import Document, Section

_PLAIN = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u2013": "-",
        "\u2014": "-",
        "\u2192": "->",
        "\u2026": "...",
        "\u2022": "-",
    }
)
_WIDTHS = {2: (0.38, 0.62), 3: (0.28, 0.37, 0.35)}


def _latin1(text: str) -> str:
    return text.translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")


class _Pdf(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(format="A4")
        self._title = _latin1(title)
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_title(self._title)
        self.set_creator("partner data-sharing hub")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.set_text_color(90, 102, 119)
        self.cell(0, 6, f"{self._title} - page {self.page_no()} of {{nb}}", align="C")


def _table(pdf: _Pdf, s: Section) -> None:
    width = pdf.w - pdf.l_margin - pdf.r_margin
    shares = _WIDTHS.get(len(s.header), tuple(1 / len(s.header) for _ in s.header))
    pdf.set_font("Helvetica", size=9)
    with pdf.table(
        col_widths=tuple(width * f for f in shares),
        text_align="LEFT",
        line_height=4.6,
        first_row_as_headings=any(s.header),
    ) as table:
        if any(s.header):
            table.row([_latin1(h) for h in s.header])
        for r in s.rows:
            table.row([_latin1(c) for c in r])
    pdf.ln(2)


def _paragraphs(pdf: _Pdf, texts: tuple[str, ...]) -> None:
    pdf.set_font("Helvetica", size=10)
    for t in texts:
        pdf.multi_cell(0, 5, _latin1(t), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1.5)


def render_pdf(doc: Document) -> bytes:
    pdf = _Pdf(doc.title)
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.multi_cell(0, 7, _latin1(doc.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    pdf.set_font("Helvetica", size=10)
    pdf.set_text_color(90, 102, 119)
    pdf.multi_cell(0, 5, _latin1(doc.subtitle), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(26, 32, 44)
    for s in doc.sections:
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 12)
        pdf.multi_cell(0, 6, _latin1(s.heading), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)
        _paragraphs(pdf, s.paragraphs)
        if s.rows:
            _table(pdf, s)
        _paragraphs(pdf, s.after)
    return bytes(pdf.output())

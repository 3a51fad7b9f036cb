from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.agreements import Agreement, load_agreements
from hub.errors import AgreementError

ROOT = Path(__file__).resolve().parents[2]


def test_reference_agreements_are_in_force(reference_agreements: list[Agreement]) -> None:
    assert len({a.id for a in reference_agreements}) >= 10
    assert len({e for a in reference_agreements for e in a.event_types}) >= 8
    for a in reference_agreements:
        assert a.not_in_force_reason(datetime(2026, 11, 23, tzinfo=UTC)) is None
        assert (a.legal_basis.article6 or a.legal_basis.dpa_part3) and a.legal_basis.gateways


def test_invalid_agreement_names_file_and_field(tmp_path: Path) -> None:
    text = (ROOT / "partnership" / "agreements" / "police-msn" / "v1.yaml").read_text()
    (tmp_path / "broken.yaml").write_text(text.replace("version: 1", "version: zero"))
    with pytest.raises(AgreementError, match=r"broken.yaml.*version"):
        load_agreements(tmp_path)


def test_clause_needs_exactly_one_selector(tmp_path: Path) -> None:
    text = (ROOT / "partnership" / "agreements" / "police-msn" / "v1.yaml").read_text()
    text = text.replace(
        "{id: category, field: concern_category,", "{id: category, field: concern_category, tag: x,"
    )
    (tmp_path / "a.yaml").write_text(text)
    with pytest.raises(AgreementError, match="exactly one of 'field' or 'tag'"):
        load_agreements(tmp_path)


def test_duplicate_versions_refused(tmp_path: Path) -> None:
    text = (ROOT / "partnership" / "agreements" / "police-msn" / "v1.yaml").read_text()
    (tmp_path / "a.yaml").write_text(text)
    (tmp_path / "b.yaml").write_text(text)
    with pytest.raises(AgreementError, match="also defined"):
        load_agreements(tmp_path)


@pytest.mark.parametrize(
    ("field", "says"),
    [("article6", "Article 6 basis must start with one of"), ("article9", "Article 9 condition")],
)
def test_a_legal_basis_code_outside_the_statute_is_refused(field: str, says: str) -> None:
    from pydantic import ValidationError

    from hub.agreements.models import LegalBasis

    with pytest.raises(ValidationError, match=says):
        LegalBasis.model_validate({field: "6(9)(z) made up"})
    # A known code loads, under either field.
    assert LegalBasis.model_validate({"article6": "6(1)(e) public task"}).article6
    assert LegalBasis.model_validate({"article9": "9(2)(g) substantial public interest"}).article9

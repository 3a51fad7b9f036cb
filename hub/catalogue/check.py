"""Schema CI: what ``hub schemas check`` enforces on ``schemas/avro`` before a change merges.

1. Every record and every field has a ``doc``: partners and IG officers read the schemas.
2. Every field that looks like personal data carries ``hub.tags``: policy and privacy act on
   tags only, so an untagged personal field would escape every agreement's tag clauses.
   ``"hub.tags": []`` is an explicit "reviewed, not personal" and passes.
3. Every event type stays compatible with its schema at a git revision (default ``HEAD``),
   under BACKWARD or the level its top-level ``"hub.compatibility"`` attribute names, so
   partners' registered schemas keep working. Event types new since that revision pass.

Docs and tags are checked per file (so findings name the file to edit); compatibility on
the standalone schemas the catalogue builds, exactly what partners register.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.catalogue.schemas import EVENT_TYPE_ATTR, TAGS_ATTR, Catalogue, load_catalogue
from hub.errors import ConfigError
from hub.registry.compatibility import COMPATIBILITY_LEVELS, check_compatibility

COMPATIBILITY_ATTR = "hub.compatibility"
DEFAULT_LEVEL = "BACKWARD"
# Field names that suggest personal data when the value is text or a date.
PERSONAL_NAME = re.compile(r"name|address|postcode|nhs|pnc|dob|birth|narrative|note|description")
PERSONAL_TYPES = frozenset({"Person"})  # shared types that always describe a person


@dataclass(frozen=True)
class Finding:
    """One problem: the file to edit, the dotted path inside it, and what to do."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"


@dataclass
class CheckReport:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be checked, and why
    event_types: int = 0
    compared: int = 0  # event types compared with the base revision

    @property
    def ok(self) -> bool:
        return not self.findings


# Docs and tags


def _schema_files(schemas_dir: Path) -> list[Path]:
    return sorted(schemas_dir.glob("*.avsc")) + sorted((schemas_dir / "common").glob("*.avsc"))


def _underlying(avro_type: Any) -> Iterator[Any]:
    """The types a value may really have: union branches, array items, map values."""
    if isinstance(avro_type, list):
        for branch in avro_type:
            yield from _underlying(branch)
    elif isinstance(avro_type, dict) and avro_type.get("type") in ("array", "map"):
        yield from _underlying(avro_type.get("items", avro_type.get("values")))
    elif isinstance(avro_type, dict) and isinstance(avro_type.get("type"), list | dict):
        yield from _underlying(avro_type["type"])
    elif avro_type != "null":
        yield avro_type


def _looks_personal(f: dict[str, Any]) -> bool:
    """A Person-typed field, or a text or date field with a personal-sounding name."""
    named_like_personal = PERSONAL_NAME.search(str(f.get("name", "")).lower()) is not None
    for t in _underlying(f.get("type")):
        if isinstance(t, str):
            kind, type_name, logical = t, t, None
        else:
            kind, type_name, logical = t.get("type"), str(t.get("name", "")), t.get("logicalType")
        if type_name.rsplit(".", 1)[-1] in PERSONAL_TYPES:
            return True
        if named_like_personal and (kind == "string" or logical == "date"):
            return True
    return False


def _join(path: str, name: Any) -> str:
    return f"{path}.{name}" if path else str(name)


def _records(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, record) for every record defined inline in ``node``."""
    for t in _underlying(node):
        if isinstance(t, dict) and t.get("type") in ("record", "error"):
            yield path, t
            for f in t.get("fields", []):
                yield from _records(f.get("type"), _join(path, f.get("name")))


def check_docs_and_tags(schemas_dir: Path, root: Path) -> list[Finding]:
    """Missing docs and missing tags in every schema file, named relative to ``root``."""
    findings: list[Finding] = []
    for path in _schema_files(schemas_dir):
        rel = _relative(path, root)
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            findings.append(Finding(rel, "<file>", f"not valid JSON ({exc}); fix the syntax"))
            continue
        for record_path, record in _records(schema, ""):
            if not str(record.get("doc", "")).strip():
                where = record_path or "<top level>"
                message = (
                    f"record '{record.get('name')}' has no doc; add a \"doc\" saying what it is"
                )
                findings.append(Finding(rel, where, message))
            for f in record.get("fields", []):
                findings += _field_findings(rel, _join(record_path, f.get("name")), f)
    return findings


def _field_findings(rel: str, path: str, f: dict[str, Any]) -> list[Finding]:
    out = []
    if not str(f.get("doc", "")).strip():
        out.append(Finding(rel, path, 'field has no doc; add a "doc" saying what it holds'))
    if TAGS_ATTR not in f and _looks_personal(f):
        out.append(
            Finding(
                rel,
                path,
                f'field looks like personal data but has no "{TAGS_ATTR}"; tag it (e.g. '
                '["pii.direct", "name"]), or add "hub.tags": [] if it is not personal',
            )
        )
    return out


# Compatibility with a git revision


class BaseUnavailable(Exception):
    """The base revision's schemas cannot be read (no git, not a repository, unknown rev)."""


def _git(repo: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, check=False, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BaseUnavailable(f"git cannot run: {exc}") from exc
    if done.returncode != 0:
        raise BaseUnavailable(done.stderr.decode(errors="replace").strip() or "git failed")
    return done.stdout


def catalogue_at(repo: Path, rev: str, schemas_dir: Path) -> tuple[Catalogue, dict[str, str]]:
    """The catalogue as it was at ``rev`` (with the file of each event type, by slug).

    Old files are read with ``git show REV:path`` into a temporary folder and loaded with
    the same ``load_catalogue`` as today, so shared types are inlined as they were then.
    """
    rel = _relative(schemas_dir, repo)
    wanted = re.compile(rf"^{re.escape(rel)}/(common/)?[^/]+\.avsc$")
    listing = _git(repo, "ls-tree", "-r", "--name-only", rev, "--", rel).decode()
    with tempfile.TemporaryDirectory(prefix="hub-schemas-base-") as tmp:
        folder = Path(tmp)
        (folder / "common").mkdir()
        for name in filter(wanted.match, listing.splitlines()):
            target = folder / name[len(rel) + 1 :]
            target.write_bytes(_git(repo, "show", f"{rev}:{name}"))
        try:
            return load_catalogue(folder), _event_files(folder, rel)
        except ConfigError as exc:
            raise BaseUnavailable(f"the schemas at {rev} do not load: {exc}") from exc


def _event_files(schemas_dir: Path, rel: str) -> dict[str, str]:
    files = {}
    for path in sorted(schemas_dir.glob("*.avsc")):
        try:
            slug = json.loads(path.read_text(encoding="utf-8")).get(EVENT_TYPE_ATTR)
        except (json.JSONDecodeError, AttributeError):
            continue
        if isinstance(slug, str):
            files[slug] = f"{rel}/{path.name}"
    return files


def check_against(
    current: Catalogue, files: dict[str, str], base: Catalogue, rev: str
) -> list[Finding]:
    """Every way a current event type breaks its level against the same type in ``base``."""
    findings: list[Finding] = []
    for slug, event_type in sorted(current.event_types.items()):
        old = base.get(slug)
        file = files.get(slug, slug)
        level = str(event_type.schema.get(COMPATIBILITY_ATTR, DEFAULT_LEVEL)).upper()
        if level not in COMPATIBILITY_LEVELS:
            findings.append(
                Finding(
                    file,
                    "<top level>",
                    f'"{COMPATIBILITY_ATTR}" is {level!r}; use one of '
                    + ", ".join(COMPATIBILITY_LEVELS),
                )
            )
            continue
        if old is None:  # new since the base revision: nothing registered to break
            continue
        previous = [(f"the schema at {rev}", old.schema)]
        for problem in check_compatibility(level, event_type.schema, previous):
            path, _, message = problem.partition(": ")
            findings.append(Finding(file, path, f"incompatible ({level}) with {rev}: {message}"))
    return findings


def run_check(
    repo: Path, base: str | None = "HEAD", schemas_dir: Path | None = None
) -> CheckReport:
    """Docs, tags and (when ``base`` is given and readable) compatibility with ``base``."""
    schemas_dir = schemas_dir or repo / "schemas" / "avro"
    report = CheckReport(findings=check_docs_and_tags(schemas_dir, repo))
    try:
        current = load_catalogue(schemas_dir)
    except ConfigError as exc:
        report.findings.append(Finding(_relative(schemas_dir, repo), "<catalogue>", str(exc)))
        return report
    report.event_types = len(current.event_types)
    if base is None:
        return report
    try:
        old, _ = catalogue_at(repo, base, schemas_dir)
    except BaseUnavailable as exc:
        report.notes.append(
            f"compatibility not checked: base revision {base!r} is not available ({exc}); "
            "checked docs and tags only"
        )
        return report
    files = _event_files(schemas_dir, _relative(schemas_dir, repo))
    report.findings += check_against(current, files, old, base)
    report.compared = sum(1 for slug in current.event_types if old.get(slug) is not None)
    return report


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()

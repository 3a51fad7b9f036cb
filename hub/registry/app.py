"""The Confluent Schema Registry REST API, as far as Confluent's clients and serdes use it.

Every error, including unknown routes and malformed requests, uses Confluent's body shape
``{"error_code": ..., "message": ...}`` because ``SchemaRegistryClient`` reads those two
fields back. Query parameters the clients send but that mean nothing here (``normalize``,
``format``, ``subject`` on schema-by-id, ``lookupDeletedSchema``...) are accepted and ignored.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any

from fastapi import Body, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from hub.registry.exceptions import (
    InvalidSchema,
    InvalidVersion,
    RegistryApiError,
    SchemaNotRegistered,
)
from hub.registry.identity import AVRO, SUPPORTED_TYPES
from hub.registry.store import SchemaStore, StoredSchema, SubjectVersion, Version

MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"
MAX_VERSION = 2**31 - 1  # Confluent's version ids are positive Java ints
_log = logging.getLogger(__name__)

JsonBody = Annotated[dict[str, Any], Body()]
Deleted = Annotated[bool, Query()]
Flag = Annotated[bool, Query()]


class RegistryResponse(JSONResponse):
    media_type = MEDIA_TYPE


def _error(status: int, code: int, message: str) -> RegistryResponse:
    return RegistryResponse({"error_code": code, "message": message}, status_code=status)


def _schema_body(stored: StoredSchema) -> dict[str, Any]:
    return {
        "id": stored.schema_id,
        "guid": stored.guid,
        "schemaType": stored.schema_type,
        "schema": stored.schema_str,
        "references": [],
    }


def _version_body(found: SubjectVersion) -> dict[str, Any]:
    return {"subject": found.subject, "version": found.version, **_schema_body(found.schema)}


def _raw_schema(stored: StoredSchema) -> Response:
    """The schema itself as the JSON document, as Confluent's ``.../schema`` routes do."""
    return Response(content=stored.schema_str, media_type=MEDIA_TYPE)


def _parse_version(text: str) -> Version:
    """Confluent accepts 1..2^31-1, "latest", and -1 meaning latest."""
    if text in ("latest", "-1"):
        return "latest"
    if re.fullmatch(r"[0-9]{1,10}", text) and 1 <= int(text) <= MAX_VERSION:
        return int(text)
    raise InvalidVersion(
        f"The specified version '{text}' is not a valid version id. "
        'Allowed values are between [1, 2^31-1] and the string "latest"'
    )


def _schema_request(body: dict[str, Any]) -> tuple[str, str]:
    """(schema string, schema type) from a register or lookup body."""
    schema = body.get("schema")
    if not isinstance(schema, str) or not schema.strip():
        raise InvalidSchema("Invalid schema: 'schema' must be a non-empty string")
    schema_type = body.get("schemaType") or AVRO
    if not isinstance(schema_type, str):
        raise InvalidSchema("Invalid schema: 'schemaType' must be a string")
    if body.get("references"):
        raise InvalidSchema("Invalid schema: schema references are not supported")
    # Silently dropping data-contract rules (e.g. encryption) would be worse than refusing.
    if body.get("metadata") is not None or body.get("ruleSet") is not None:
        raise InvalidSchema("Invalid schema: 'metadata' and 'ruleSet' are not supported")
    return schema, schema_type


def _level_request(body: dict[str, Any]) -> str:
    level = body.get("compatibility")
    # An empty level is rejected by the store with the list of valid levels (42203).
    return level if isinstance(level, str) else ""


def _compatibility_body(problems: list[str], verbose: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"is_compatible": not problems}
    if verbose:  # Confluent sends messages only when asked
        body["messages"] = problems
    return body


def _page(items: list[Any], offset: int, limit: int) -> list[Any]:
    start = max(offset, 0)
    return items[start:] if limit < 0 else items[start : start + limit]


class TrailingSlashes:
    """Route ``/config/`` like ``/config``, as Confluent's registry (Jersey) does.

    Starlette would answer a trailing slash with an empty 307 redirect, which clients do not
    follow for PUT or DELETE and whose empty body they cannot read as an error
    (``python-schema-registry-client`` asks ``GET /config/`` for the global level). So the
    path is normalised before routing, for every route and method alike.
    """

    def __init__(self, app: Any) -> None:
        self._app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope.get("type") == "http" and len(path) > 1 and path.endswith("/"):
            scope = {**scope, "path": path.rstrip("/") or "/"}
            raw = scope.get("raw_path")
            if isinstance(raw, bytes):  # kept percent-encoded, as it came
                scope["raw_path"] = raw.rstrip(b"/") or b"/"
        await self._app(scope, receive, send)


def create_app(store: SchemaStore) -> FastAPI:
    app = FastAPI(
        title="Hub schema registry",
        default_response_class=RegistryResponse,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
    )
    app.add_middleware(TrailingSlashes)
    _add_error_handlers(app)
    _add_schema_routes(app, store)
    _add_subject_routes(app, store)
    _add_delete_routes(app, store)
    _add_compatibility_routes(app, store)
    _add_config_routes(app, store)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RegistryApiError)
    async def registry_error(_: Request, exc: RegistryApiError) -> Response:
        return _error(exc.http_status, exc.error_code, exc.message)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> Response:
        return _error(exc.status_code, exc.status_code, f"HTTP {exc.status_code} {exc.detail}")

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg', '')}"
            for err in exc.errors()
        )
        return _error(422, 422, f"Unprocessable request: {problems}")

    @app.exception_handler(SQLAlchemyError)
    async def store_error(_: Request, exc: SQLAlchemyError) -> Response:
        _log.error("schema registry store failed", exc_info=exc)
        return _error(500, 50001, "Error in the backend data store")


def _add_schema_routes(app: FastAPI, store: SchemaStore) -> None:
    @app.get("/")
    def root() -> dict[str, Any]:
        return {}

    @app.get("/schemas/types")
    def schema_types() -> list[str]:
        return list(SUPPORTED_TYPES)

    def by_id(schema_id: int) -> StoredSchema:
        stored = store.get_by_id(schema_id)
        if stored is None:
            raise SchemaNotRegistered(f"Schema {schema_id} not found.")
        return stored

    @app.get("/schemas/ids/{schema_id}")
    def get_schema(schema_id: int) -> dict[str, Any]:
        return _schema_body(by_id(schema_id))

    @app.get("/schemas/ids/{schema_id}/schema")
    def get_schema_text(schema_id: int) -> Response:
        return _raw_schema(by_id(schema_id))

    @app.get("/schemas/ids/{schema_id}/subjects")
    def get_schema_subjects(schema_id: int, deleted: Deleted = False) -> list[str]:
        return sorted({subject for subject, _ in store.usages(schema_id, deleted)})

    @app.get("/schemas/ids/{schema_id}/versions")
    def get_schema_versions(schema_id: int, deleted: Deleted = False) -> list[dict[str, Any]]:
        return [{"subject": s, "version": v} for s, v in store.usages(schema_id, deleted)]

    @app.get("/schemas/guids/{guid}")
    def get_schema_by_guid(guid: str) -> dict[str, Any]:
        stored = store.get_by_guid(guid)
        if stored is None:
            raise SchemaNotRegistered(f"Schema {guid} not found.")
        return _schema_body(stored)


def _add_subject_routes(app: FastAPI, store: SchemaStore) -> None:
    @app.get("/subjects")
    def list_subjects(
        deleted: Deleted = False,
        subject_prefix: Annotated[str, Query(alias="subjectPrefix")] = "",
        offset: int = 0,
        limit: int = -1,
    ) -> list[str]:
        names = [s for s in store.subjects(deleted) if s.startswith(subject_prefix)]
        return _page(names, offset, limit)

    @app.get("/subjects/{subject}/versions")
    def list_versions(
        subject: str, deleted: Deleted = False, offset: int = 0, limit: int = -1
    ) -> list[int]:
        return _page(store.versions(subject, deleted), offset, limit)

    @app.post("/subjects/{subject}/versions")
    def register(subject: str, body: JsonBody) -> dict[str, Any]:
        schema, schema_type = _schema_request(body)
        found = store.register_version(subject, schema, schema_type)
        return {"id": found.schema.schema_id, "guid": found.schema.guid, "version": found.version}

    @app.get("/subjects/{subject}/versions/{version}")
    def get_version(subject: str, version: str, deleted: Deleted = False) -> dict[str, Any]:
        return _version_body(store.get_version(subject, _parse_version(version), deleted))

    @app.get("/subjects/{subject}/versions/{version}/schema")
    def get_version_text(subject: str, version: str, deleted: Deleted = False) -> Response:
        return _raw_schema(store.get_version(subject, _parse_version(version), deleted).schema)

    @app.post("/subjects/{subject}")
    def lookup(subject: str, body: JsonBody, deleted: Deleted = False) -> dict[str, Any]:
        schema, schema_type = _schema_request(body)
        return _version_body(store.lookup(subject, schema, schema_type, deleted))


def _add_delete_routes(app: FastAPI, store: SchemaStore) -> None:
    @app.delete("/subjects/{subject}")
    def delete_subject(subject: str, permanent: Flag = False) -> list[int]:
        return store.delete_subject(subject, permanent)

    @app.delete("/subjects/{subject}/versions/{version}")
    def delete_version(subject: str, version: str, permanent: Flag = False) -> int:
        return store.delete_version(subject, _parse_version(version), permanent)


def _add_compatibility_routes(app: FastAPI, store: SchemaStore) -> None:
    @app.post("/compatibility/subjects/{subject}/versions/{version}")
    def test_version(
        subject: str, version: str, body: JsonBody, verbose: Flag = False
    ) -> dict[str, Any]:
        number = _parse_version(version)
        schema, schema_type = _schema_request(body)
        problems = store.test_compatibility(subject, schema, schema_type, number)
        return _compatibility_body(problems, verbose)

    @app.post("/compatibility/subjects/{subject}/versions")
    def test_all(subject: str, body: JsonBody, verbose: Flag = False) -> dict[str, Any]:
        schema, schema_type = _schema_request(body)
        return _compatibility_body(store.test_compatibility(subject, schema, schema_type), verbose)


def _add_config_routes(app: FastAPI, store: SchemaStore) -> None:
    @app.get("/config")
    def get_config() -> dict[str, Any]:
        return {"compatibilityLevel": store.get_compatibility()}

    @app.put("/config")
    def put_config(body: JsonBody) -> dict[str, Any]:
        return {"compatibility": store.set_compatibility(_level_request(body))}

    @app.delete("/config")
    def delete_config() -> dict[str, Any]:
        return {"compatibilityLevel": store.delete_compatibility()}

    @app.get("/config/{subject}")
    def get_subject_config(
        subject: str,
        default_to_global: Annotated[bool, Query(alias="defaultToGlobal")] = False,
    ) -> dict[str, Any]:
        return {"compatibilityLevel": store.get_compatibility(subject, default_to_global)}

    @app.put("/config/{subject}")
    def put_subject_config(subject: str, body: JsonBody) -> dict[str, Any]:
        return {"compatibility": store.set_compatibility(_level_request(body), subject)}

    @app.delete("/config/{subject}")
    def delete_subject_config(subject: str) -> dict[str, Any]:
        return {"compatibilityLevel": store.delete_compatibility(subject)}

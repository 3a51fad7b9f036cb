"""Registry errors that carry Confluent's ``error_code`` and HTTP status.

The store raises them and the HTTP layer turns them into Confluent's error body
``{"error_code": 40401, "message": "..."}``, which ``SchemaRegistryClient`` reads back into
``SchemaRegistryError``. Not-found errors are also ``hub.errors.SchemaNotFound`` so callers
inside the hub can catch them without knowing about the registry.
"""

from __future__ import annotations

from typing import ClassVar

from hub.errors import RegistryError, SchemaNotFound, Terminal


class RegistryApiError(RegistryError):
    """A registry request failed in a way Confluent's API has a code for."""

    error_code: ClassVar[int] = 50001
    http_status: ClassVar[int] = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SubjectNotFound(RegistryApiError, SchemaNotFound):
    error_code = 40401
    http_status = 404


class VersionNotFound(RegistryApiError, SchemaNotFound):
    error_code = 40402
    http_status = 404


class SchemaNotRegistered(RegistryApiError, SchemaNotFound):
    """No schema with that id or guid, or the schema is not registered under the subject."""

    error_code = 40403
    http_status = 404


class InvalidSchema(RegistryApiError, Terminal):
    """The schema does not parse, or is of a type this registry does not support."""

    error_code = 42201
    http_status = 422


class InvalidVersion(RegistryApiError, Terminal):
    error_code = 42202
    http_status = 422


class InvalidCompatibilityLevel(RegistryApiError, Terminal):
    error_code = 42203
    http_status = 422


class SubjectSoftDeleted(RegistryApiError, Terminal):
    """The subject is already soft-deleted; only a permanent delete can remove it further."""

    error_code = 40404
    http_status = 404


class SubjectNotSoftDeleted(RegistryApiError, Terminal):
    """A permanent delete of a subject that still has live versions."""

    error_code = 40405
    http_status = 404


class VersionSoftDeleted(RegistryApiError, Terminal):
    """The version is already soft-deleted; only a permanent delete can remove it further."""

    error_code = 40406
    http_status = 404


class VersionNotSoftDeleted(RegistryApiError, Terminal):
    """A permanent delete of a version that was not soft-deleted first."""

    error_code = 40407
    http_status = 404


class SubjectCompatibilityNotConfigured(RegistryApiError, Terminal):
    """The subject has no compatibility level of its own (ask with defaultToGlobal=true)."""

    error_code = 40408
    http_status = 404


class IncompatibleSchema(RegistryApiError, Terminal):
    """The schema breaks the subject's compatibility level; ``problems`` says how."""

    error_code = 409
    http_status = 409

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems


class RegistryStartError(RegistryError, Terminal):
    """The embedded registry server could not start listening."""

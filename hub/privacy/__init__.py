"""Privacy operators: keep, drop, keyed HMAC token, generalise, redact; keys; output schemas.

The exports are imported when first read (hub/lazy.py): ``hub.privacy.token`` does not load
the transformer and its dependencies."""

from typing import TYPE_CHECKING

from hub.lazy import lazy_exports

if TYPE_CHECKING:
    from hub.privacy.keys import KeyProvider, KeyRing, LocalKeyProvider, PseudonymKey
    from hub.privacy.output_schema import derive_output_schema
    from hub.privacy.token import make_token
    from hub.privacy.transform import Transformed, Transformer, TransformError

__all__ = [
    "KeyProvider",
    "KeyRing",
    "LocalKeyProvider",
    "PseudonymKey",
    "TransformError",
    "Transformed",
    "Transformer",
    "derive_output_schema",
    "make_token",
]

if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "KeyProvider": "hub.privacy.keys",
            "KeyRing": "hub.privacy.keys",
            "LocalKeyProvider": "hub.privacy.keys",
            "PseudonymKey": "hub.privacy.keys",
            "TransformError": "hub.privacy.transform",
            "Transformed": "hub.privacy.transform",
            "Transformer": "hub.privacy.transform",
            "derive_output_schema": "hub.privacy.output_schema",
            "make_token": "hub.privacy.token",
        },
    )

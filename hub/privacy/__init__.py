"""Privacy operators: keep, drop, keyed HMAC token, generalise, redact; keys; output schemas."""

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

"""Foreign errors into the hub's error tree, once.

The schema registry client raises ``SchemaRegistryError`` with an HTTP status, or lets a
transport error through (connection refused, a timeout, an ``httpx`` error). Every caller
used to sort these into "the request was refused" (terminal) and "the registry is away"
(retryable) on its own, in slightly different ways. Here it is done once, as a context
manager (the shape of httpx's ``map_httpcore_exceptions``), and each caller says only what
a refusal means for it: an unknown schema, a rejected record, a misconfigured connector.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager

from hub.errors import HubError, RegistryUnavailable


@contextmanager
def registry_errors(
    what: str,
    refused: Callable[[str, int], Exception],
    refusals: Collection[int] = (400, 404, 409, 422),
    passthrough: tuple[type[BaseException], ...] = (),
) -> Iterator[None]:
    """Translate registry failures raised inside the block.

    ``what`` names the operation for the message (e.g. "schema id 12"). ``refused`` builds
    the caller's terminal error from the registry's message and HTTP status, for an answer
    in ``refusals``: the request itself is wrong and asking again will not help. Every other
    failure becomes ``RegistryUnavailable`` (retryable): 5xx answers, transport failures,
    and 401/403 too, since a credential problem is the deployment's, not the record's, and
    must stall the stream (nothing lost) rather than dead-letter every record.
    The hub's own errors pass through untouched, and so do ``passthrough`` types (e.g. the
    serializer's ``SerializationError``: the record's fault, which the caller sorts).
    """
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    try:
        yield
    except HubError:
        raise
    except passthrough:
        raise
    except SchemaRegistryError as exc:
        status = exc.http_status_code
        if status is not None and status in refusals:
            raise refused(f"{what}: {exc.error_message or exc}", status) from exc
        hint = " (check the registry credentials)" if status in (401, 403) else ""
        raise RegistryUnavailable(f"schema registry error for {what}: {exc}{hint}") from exc
    except Exception as exc:
        # Connection refused, timeouts, the HTTP library's own errors: keep the block to
        # the client call, so that anything else raised here is the transport's.
        raise RegistryUnavailable(
            f"schema registry unreachable for {what}: {type(exc).__name__}: {exc}"
        ) from exc


def kafka_error_code(exc: BaseException) -> int | None:
    """The ``KafkaError`` code a confluent-kafka exception carries, or None. Callers compare
    codes, never message text (which differs between brokers and client versions)."""
    from confluent_kafka import KafkaError

    err = exc.args[0] if exc.args else None
    return err.code() if isinstance(err, KafkaError) else None


def already_exists(exc: BaseException) -> bool:
    """A topic creation refused because the topic is there (another process got there
    first: the outcome wanted)."""
    from confluent_kafka import KafkaError

    return kafka_error_code(exc) == KafkaError.TOPIC_ALREADY_EXISTS

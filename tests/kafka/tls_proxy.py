"""A TLS-terminating proxy in front of the embedded broker, for tests.

The embedded broker (Tansu) cannot require TLS or SASL itself, so the tests put this in
front of it: clients must speak TLS to the proxy, which forwards the bytes to the broker's
plaintext listener. Kafka clients connect to whatever address the broker's metadata
advertises, so the broker is started advertising the proxy's port (``EmbeddedBroker(
advertised=...)``): every connection, bootstrap or not, then goes through the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import ssl
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# Every flag of x509.KeyUsage, in its order.
_KEY_USAGES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)


def _certificate(
    subject: x509.Name,
    issuer: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    signer: ec.EllipticCurvePrivateKey,
    *extensions: tuple[x509.ExtensionType, bool],
) -> x509.Certificate:
    """``key``'s certificate signed by ``signer``, valid from five minutes ago (clock skew)
    for a day; ``extensions``: (extension, critical)."""
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signer, hashes.SHA256())


def _key_usage(*allowed: str) -> x509.KeyUsage:
    """A key usage extension allowing ``allowed`` only (``x509.KeyUsage`` takes every flag;
    a misspelt one fails here)."""
    flags = {f: f in allowed for f in _KEY_USAGES}
    assert set(allowed) <= set(flags), allowed
    return x509.KeyUsage(**flags)


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it:
    (ca.pem, server.pem, server.key)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub test CA")])
    signs_certificates = _key_usage("digital_signature", "key_cert_sign", "crl_sign")
    ca = _certificate(
        ca_name,
        ca_name,
        ca_key,
        ca_key,
        (x509.BasicConstraints(ca=True, path_length=0), True),
        (signs_certificates, True),
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = _certificate(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]),
        ca_name,
        key,
        ca_key,
        (
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            False,
        ),
    )
    folder.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path


class TlsProxy:
    """Listens with TLS on ``port``; each connection is piped to ``upstream_port``."""

    def __init__(self, port: int, upstream_port: int, cert: Path, key: Path) -> None:
        self.port = port
        self.upstream_port = upstream_port
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(cert, key)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self.handshakes = 0  # connections that completed TLS
        self.refused = 0  # connections that did not speak TLS

    def start(self) -> TlsProxy:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(10)
        return self

    async def _serve(self) -> asyncio.base_events.Server:
        return await asyncio.start_server(
            self._client, "127.0.0.1", self.port, ssl=self._context, ssl_handshake_timeout=5
        )

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.handshakes += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()

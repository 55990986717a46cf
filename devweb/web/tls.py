"""Self-signed ECDSA certificate and server-side TLS context shared by all tunnelled sites."""

from __future__ import annotations

import datetime as _dt
import ipaddress
import os
import ssl
import tempfile
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["CERT_COMMON_NAME", "generate_certificate", "server_ssl_context"]

CERT_COMMON_NAME = "servicerisk local web"

_lock = threading.Lock()
_context: ssl.SSLContext | None = None


def generate_certificate() -> tuple[bytes, bytes]:
    """Return (certificate PEM, private key PEM) of a fresh self-signed ECDSA P-256 certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CERT_COMMON_NAME)])
    now = _dt.datetime.now(_dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(days=1))
        .not_valid_after(now + _dt.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName([
                x509.DNSName("*"),
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            ]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert_pem, key_pem


def server_ssl_context() -> ssl.SSLContext:
    """The process-wide server TLS context (certificate generated on first call)."""
    global _context
    with _lock:
        if _context is None:
            cert_pem, key_pem = generate_certificate()
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.set_alpn_protocols(["http/1.1"])
            # Crawlers do not resume sessions; skipping TLS 1.3 tickets saves ~10% handshake CPU.
            ctx.num_tickets = 0
            # ssl can only load key material from files: write them to a private
            # temporary directory and remove it right after loading.
            with tempfile.TemporaryDirectory(prefix="localweb-tls-") as tmp:
                cert_path = os.path.join(tmp, "cert.pem")
                key_path = os.path.join(tmp, "key.pem")
                fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(key_pem)
                with open(cert_path, "wb") as fh:
                    fh.write(cert_pem)
                ctx.load_cert_chain(cert_path, key_path)
            _context = ctx
        return _context

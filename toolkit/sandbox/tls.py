"""A throw-away certificate authority for the sandbox's HTTPS servers.

Clients trust the sandbox by pointing ``verify`` (requests) at the CA bundle this writes;
verification is never turned off.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme

HOSTNAMES = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class SandboxTLS:
    """Server SSL context plus the path of the CA bundle that clients must trust."""

    ssl_context: ssl.SSLContext
    ca_bundle: Path


def make_tls(directory: Path) -> SandboxTLS:
    """Create a CA and a server certificate for the loopback names; write the CA to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="toolkit sandbox CA")
    cert = ca.issue_cert(*HOSTNAMES)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    cert.configure_cert(ctx)
    bundle = directory / "sandbox-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return SandboxTLS(ssl_context=ctx, ca_bundle=bundle)

"""The sandbox connected app's credentials, and the random identifiers Salesforce's OAuth server hands out."""

from __future__ import annotations

import base64
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import NameOID

# Characters seen in consumer keys, access tokens and refresh tokens.
_TOKEN_ALPHABET = string.ascii_letters + string.digits + "._"
_PASSWORD_ALPHABET = string.ascii_letters + string.digits + "!#%&*+-=?@"

SANDBOX_USERNAME = "integration@sandbox.example.com"


def random_chars(length: int, alphabet: str = _TOKEN_ALPHABET) -> str:
    """``length`` characters drawn from ``alphabet`` with a CSPRNG."""
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_access_token(org_id: str) -> str:
    """An access token shaped like Salesforce's: the 15-character org id, ``!``, an opaque part."""
    return f"{org_id[:15]}!AQ{random_chars(110)}"


def new_refresh_token() -> str:
    """A refresh token shaped like Salesforce's (``5Aep861...``)."""
    return f"5Aep861{random_chars(80)}"


def new_authorization_code() -> str:
    """An authorization code shaped like Salesforce's: ``aPrx`` plus standard base64 ending in ``==``."""
    return "aPrx" + base64.b64encode(secrets.token_bytes(46)).decode()


def _self_signed_certificate(key: rsa.RSAPrivateKey) -> x509.Certificate:
    # Fixed validity dates: the certificate only carries the public key (as the one uploaded to
    # a connected app does) and generation must not depend on the wall clock.
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "toolkit-sandbox-jwt"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "toolkit sandbox"),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2024, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2044, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )


@dataclass
class Credentials:
    """The sandbox org's connected app and integration user.

    Attributes:
        client_id: the connected app's consumer key (``3MVG9...``, 85 characters).
        client_secret: the consumer secret (64 upper-case hex digits).
        username: the integration user's username.
        password: the integration user's password (no security token is needed in the sandbox).
        jwt_private_key_pem: PKCS#8 PEM key a client signs JWT bearer assertions with.
        jwt_public_key_pem: the X.509 certificate (PEM) uploaded to the connected app; a bare
            ``PUBLIC KEY`` PEM is accepted too.
    """

    client_id: str
    client_secret: str
    username: str
    password: str
    jwt_private_key_pem: str
    jwt_public_key_pem: str

    def __repr__(self) -> str:
        # Keep secrets out of logs and tracebacks.
        return f"Credentials(client_id={self.client_id!r}, username={self.username!r}, secrets=<hidden>)"

    @classmethod
    def generate(cls) -> Credentials:
        """Random, realistic credentials with a fresh RSA 2048 key pair."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        cert_pem = _self_signed_certificate(key).public_bytes(serialization.Encoding.PEM).decode()
        return cls(
            client_id="3MVG9" + random_chars(80),
            client_secret=secrets.token_hex(32).upper(),
            username=SANDBOX_USERNAME,
            password=random_chars(20, _PASSWORD_ALPHABET),
            jwt_private_key_pem=private_pem,
            jwt_public_key_pem=cert_pem,
        )

    def public_summary(self) -> dict[str, Any]:
        """What may be shown to anyone: the consumer key and the username, never a secret."""
        return {"client_id": self.client_id, "username": self.username}

    def jwt_public_key(self) -> rsa.RSAPublicKey:
        """The public key JWT bearer assertions (RS256) are verified with.

        Raises:
            ValueError: the PEM holds no RSA public key (or is no PEM).
        """
        data = self.jwt_public_key_pem.encode()
        key: PublicKeyTypes
        if b"BEGIN CERTIFICATE" in data:
            key = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError(f"the JWT key is a {type(key).__name__}, not an RSA key")
        return key

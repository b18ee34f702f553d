"""TLS for connectors: certificates are always verified; a partner may add its own CA.

A CA bundle (PEM text, stored with the installation) is trusted in addition to the
system's authorities, for endpoints behind a company CA. There is no switch to turn
verification off.
"""

from __future__ import annotations

import ssl

from passeur.domain.errors import InvalidInput


def check_ca_bundle(value: str) -> None:
    """Field check: the text must hold at least one PEM certificate."""
    if "-----BEGIN CERTIFICATE-----" not in value:
        raise InvalidInput(
            "CA bundle: paste one or more PEM certificates (-----BEGIN CERTIFICATE-----)"
        )
    try:
        ssl.create_default_context(cadata=value)
    except (ssl.SSLError, ValueError) as exc:
        raise InvalidInput(f"CA bundle: the certificates cannot be read ({exc})") from None


def client_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """A verifying client context (loading the system CAs is slow: callers keep it)."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_bundle:
        context.load_verify_locations(cadata=ca_bundle)
    return context


def is_certificate_error(exc: BaseException) -> bool:
    """Whether a (wrapped) failure comes from a certificate that does not verify."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        if "CERTIFICATE_VERIFY_FAILED" in str(seen):  # when a library kept only the text
            return True
        seen = seen.__cause__ or seen.__context__
    return False

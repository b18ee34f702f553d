"""The HTTP extension's declaration: its fields and the rules across them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from passeur.connectors.fields import CA_BUNDLE, parallel_field, parallel_pacing, timeout_field
from passeur.connectors.http.signing import HOW_TO_MAKE, check_secret
from passeur.domain.documents import Family
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Extension, Pacing, Rule
from passeur.domain.fields import Field, FieldKind

PAYLOADS = ("json", "multipart", "raw")
# JSON is the default: it is the one body every Standard Webhooks library verifies with
# its default call (the reference libraries parse the signed body as JSON text).
DEFAULT_PAYLOAD = "json"
AUTH_METHODS = ("none", "basic", "bearer", "api_key", "oauth2")
# Headers we set ourselves; an API-key header may not replace them.
OWN_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "content-disposition",
        "transfer-encoding",
        "host",
        "connection",
        "user-agent",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "idempotency-key",
    }
)
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 field-name


def _check_endpoint(url: str) -> None:
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("the URL may not hold a user or password; use the authentication fields")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise InvalidInput(
            "the URL may not have a query (?…) or fragment (#…); put keys in the "
            "authentication fields and variables in the path"
        )
    try:
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError as exc:
        raise InvalidInput(f"the URL's port is not valid: {exc}") from None
    if not parts.hostname:
        raise InvalidInput("the URL has no host")


def _check_header_name(name: str) -> None:
    if not _TOKEN.match(name):
        raise InvalidInput(f"{name!r} is not a valid header name")
    if name.lower() in OWN_HEADERS or name.lower().startswith("x-passeur-"):
        raise InvalidInput(f"the header {name!r} is set by passeur itself; choose another name")


_NEEDS: dict[str, tuple[tuple[str, str], ...]] = {
    "basic": (("username", "a username"), ("password", "a password")),
    "bearer": (("token", "a bearer token"),),
    "api_key": (("api_key_header", "an API-key header name"), ("api_key", "an API key")),
    "oauth2": (
        ("oauth_token_url", "a token URL"),
        ("oauth_client_id", "a client ID"),
        ("oauth_client_secret", "a client secret"),
    ),
}


def _check_auth(config: Mapping[str, Any], secrets_set: frozenset[str]) -> None:
    method = config.get("auth") or "none"
    missing = [
        label
        for name, label in _NEEDS.get(method, ())
        if not config.get(name) and name not in secrets_set
    ]
    if missing:
        raise InvalidInput(f"authentication {method!r} needs {' and '.join(missing)}")


def _check_plain_http(config: Mapping[str, Any], secrets_set: frozenset[str]) -> None:
    if config.get("allow_plain_http"):
        return
    urls = [config.get("base_url")]
    if config.get("auth") == "oauth2":
        urls.append(config.get("oauth_token_url"))
    for url in urls:
        if url and str(url).lower().startswith("http://"):
            raise InvalidInput(
                f"{url} is not encrypted: documents and credentials would travel in clear. "
                "Use https://, or switch on 'Allow plain http' for an endpoint inside your "
                "own network"
            )


PACING = Pacing(max_concurrent=8)

EXTENSION = Extension(
    slug="http",
    name="HTTP",
    category="Server export",
    summary="POST each document to a web endpoint, signed the Standard Webhooks way.",
    install_fields=(
        Field(
            "base_url",
            "Base URL",
            FieldKind.URL,
            required=True,
            help="The endpoint, e.g. https://erp.example.com/passeur. Redirects are not followed.",
            check=_check_endpoint,
        ),
        Field(
            "path",
            "Path",
            FieldKind.PATH,
            help="Added to the base URL, with variables such as [uen_number] and "
            "[invoice_type]; empty posts to the base URL itself.",
        ),
        Field(
            "payload",
            "Payload",
            FieldKind.CHOICE,
            default=DEFAULT_PAYLOAD,
            choices=PAYLOADS,
            help="json: the metadata with the files in base64, which the Standard Webhooks "
            "libraries verify as they are; multipart: the files plus a JSON 'metadata' part; "
            "raw: the original file alone, metadata in X-Passeur-* headers. A receiver "
            "verifies multipart and raw with an HMAC over the body's bytes (docs/http.md).",
        ),
        Field("auth", "Authentication", FieldKind.CHOICE, default="none", choices=AUTH_METHODS),
        Field("username", "Username", help="For basic authentication."),
        Field("password", "Password", secret=True, help="For basic authentication."),
        Field("token", "Bearer token", secret=True),
        Field(
            "api_key_header",
            "API-key header",
            default="X-API-Key",
            help="The header that carries the API key.",
            check=_check_header_name,
        ),
        Field("api_key", "API key", secret=True),
        Field("oauth_token_url", "OAuth token URL", FieldKind.URL, check=_check_endpoint),
        Field("oauth_client_id", "OAuth client ID"),
        Field("oauth_client_secret", "OAuth client secret", secret=True),
        Field("oauth_scope", "OAuth scope", advanced=True),
        Field(
            "oauth_client_auth",
            "Send OAuth client credentials",
            FieldKind.CHOICE,
            default="basic",
            choices=("basic", "body"),
            advanced=True,
            help="basic: HTTP Basic (RFC 6749 default); body: client_id and client_secret "
            "in the form.",
        ),
        Field(
            "signing_secret",
            "Signing secret",
            required=True,
            secret=True,
            help="Standard Webhooks secret the receiver verifies each request with: 'whsec_' "
            f"and base64 of 24-64 random bytes. Make one with: {HOW_TO_MAKE}. During a "
            "rotation give the new and the old one separated by a space.",
            check=check_secret,
        ),
        timeout_field(
            "Each step must progress within this time: connecting, every part of the upload, "
            "every read of the answer. A slow transfer that keeps moving is never cut."
        ),
        CA_BUNDLE,
        Field(
            "allow_plain_http",
            "Allow plain http",
            FieldKind.BOOLEAN,
            default=False,
            advanced=True,
            help="Only for an endpoint inside your own network: nothing is encrypted.",
        ),
        parallel_field("Parallel requests", 8),
    ),
    families=frozenset(Family),
    sends="the document's files (original, and its PDF when there is one) with metadata",
    pacing=PACING,
    pace=parallel_pacing(PACING),
    rules=(Rule(_check_auth), Rule(_check_plain_http)),
    stand_in="passeur.sandbox.http_receiver",
)

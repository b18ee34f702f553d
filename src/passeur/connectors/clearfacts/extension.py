"""The ClearFacts extension's declaration: a personal access token or a sign-in with
ClearFacts (OpenID Connect, rotating refresh tokens), and the administration of each
client by its VAT number."""

from __future__ import annotations

import re

from passeur.domain.documents import Family
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Extension, OAuthSpec, Pacing
from passeur.domain.fields import Field

TOKEN_LENGTH = 80  # ClearFacts: "always exactly 80 ASCII characters"
_VAT = re.compile(r"^(BE)?[01]\d{9}$")


def vat_digits(value: str) -> str:
    """A Belgian VAT number as ClearFacts' examples write it: ten digits, no BE."""
    cleaned = re.sub(r"[\s.\-]", "", value).upper()
    return cleaned[2:] if cleaned.startswith("BE") else cleaned


def _check_vat(value: str) -> None:
    if not _VAT.match(re.sub(r"[\s.\-]", "", value).upper()):
        raise InvalidInput(
            "give the administration's Belgian VAT number: BE and ten digits, e.g. BE0123456789",
            field="vat_number",
        )


def _check_token(value: str) -> None:
    if len(value) != TOKEN_LENGTH or not value.isascii() or any(c.isspace() for c in value):
        raise InvalidInput(
            f"a ClearFacts personal access token is exactly {TOKEN_LENGTH} characters, "
            "without spaces: copy it again from ClearFacts",
            field="personal_token",
        )


EXTENSION = Extension(
    slug="clearfacts",
    name="ClearFacts",
    category="Accounting software",
    summary="Upload each purchase and sales invoice to the client's administration in "
    "ClearFacts (GraphQL API), as a purchase or a sale.",
    install_fields=(
        Field(
            "personal_token",
            "Personal access token",
            secret=True,
            help="Made in ClearFacts under your profile > Integrations, with the scopes "
            "read_administrations and upload_document. Leave it empty to sign in with "
            "ClearFacts instead.",
            check=_check_token,
        ),
    ),
    integration_fields=(
        Field(
            "vat_number",
            "Administration VAT number",
            required=True,
            help="The client's administration in ClearFacts, by its VAT number, e.g. "
            "BE0123456789. ClearFacts is asked whether it exists when you save.",
            check=_check_vat,
        ),
    ),
    families=frozenset({Family.PURCHASES, Family.SALES}),
    sends="the original UBL when the document has one, else its PDF",
    # ClearFacts publishes no limits: a few uploads at a time per installation.
    pacing=Pacing(max_concurrent=4),
    oauth=OAuthSpec(
        provider="ClearFacts",
        authorize_url_setting="clearfacts_authorize_url",
        token_url_setting="clearfacts_token_url",
        client_id_setting="clearfacts_client_id",
        client_secret_setting="clearfacts_client_secret",
        scope="openid read_administrations upload_document offline_access",
        endpoints=(("api_url", "clearfacts_api_url"),),
    ),
    stand_in="passeur.sandbox.clearfacts_server",
)

"""The e-mail extension's declaration: its fields and the rules across them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from passeur.connectors.email import subject
from passeur.connectors.email.message import ADDRESS_FIELDS
from passeur.connectors.fields import CA_BUNDLE, timeout_field
from passeur.domain.documents import Family
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Extension, Pacing, Rule
from passeur.domain.fields import Field, FieldKind

PER_MINUTE = 30


def _check_login(config: Mapping[str, Any], secrets_set: frozenset[str]) -> None:
    has_user, has_password = bool(config.get("username")), "password" in secrets_set
    if has_user != has_password:
        raise InvalidInput("give both a username and a password, or neither")
    if has_user and config.get("security") == "none":
        raise InvalidInput("the password would travel in clear: choose STARTTLS or TLS to log in")


def _check_some_address(config: Mapping[str, Any], secrets_set: frozenset[str]) -> None:
    if not any(config.get(name) for name in ADDRESS_FIELDS.values()):
        raise InvalidInput("give at least one destination address (purchases, sales or statements)")


def _pace(installation_config: Mapping[str, Any]) -> Pacing:
    """The shared pacer holds every worker to the installation's messages per minute."""
    per_minute = int(installation_config.get("per_minute") or PER_MINUTE)
    return Pacing(max_concurrent=2, per_minute=per_minute)


def _families(integration_config: Mapping[str, Any]) -> frozenset[Family]:
    """A client receives by e-mail only the families it has an address for."""
    return frozenset(f for f, name in ADDRESS_FIELDS.items() if integration_config.get(name))


EXTENSION = Extension(
    slug="email",
    name="E-mail",
    category="Email forwarding",
    summary="Send each document by e-mail to the client's accounting inbox, one per message.",
    install_fields=(
        Field("host", "SMTP host", FieldKind.HOST, required=True),
        Field("port", "SMTP port", FieldKind.INTEGER, default=587, minimum=1, maximum=65535),
        Field(
            "security",
            "Security",
            FieldKind.CHOICE,
            default="starttls",
            choices=("starttls", "tls", "none"),
            help="starttls: port 587, upgraded to TLS (required, never skipped); tls: port "
            "465, TLS from the start; none: no encryption (no login allowed).",
        ),
        Field("username", "Username"),
        Field("password", "Password", secret=True),
        Field(
            "sender_address",
            "Sender address",
            FieldKind.EMAIL,
            required=True,
            help="Put it on the inbox's allow-list; Message-IDs use its domain.",
        ),
        Field("sender_name", "Sender name", help="e.g. the firm's name."),
        Field(
            "subject",
            "Subject",
            default=subject.DEFAULT,
            help="With variables such as [invoice_type], [document_number], [client_name].",
            check=subject.check,
        ),
        Field(
            "attachments",
            "Attachments",
            FieldKind.CHOICE,
            default="original",
            choices=("original", "pdf", "both"),
            help="original: the file as received (UBL, PDF, CODA); pdf: its PDF when it "
            "has one; both: the original and its PDF.",
        ),
        Field(
            "max_message_mb",
            "Size limit (MB)",
            FieldKind.INTEGER,
            default=20,
            minimum=1,
            maximum=100,
            help="Largest message, attachments encoded (they grow by a third). Larger "
            "documents fail with a clear error instead of bouncing later.",
        ),
        Field(
            "per_minute",
            "Messages per minute",
            FieldKind.INTEGER,
            default=PER_MINUTE,
            minimum=1,
            maximum=600,
            advanced=True,
            overridable=False,
            help="For this installation, all its clients and every worker together.",
        ),
        timeout_field(),
        CA_BUNDLE,
    ),
    integration_fields=(
        Field("purchases_address", "Purchases address", FieldKind.EMAIL),
        Field("sales_address", "Sales address", FieldKind.EMAIL),
        Field("statements_address", "Statements address", FieldKind.EMAIL),
        Field(
            "other_address",
            "Other documents address",
            FieldKind.EMAIL,
            advanced=True,
            help="Documents that are neither purchases, sales nor statements.",
        ),
    ),
    families=frozenset(Family),
    sends="one message per document, its file(s) attached",
    pacing=Pacing(max_concurrent=2, per_minute=PER_MINUTE),
    rules=(Rule(_check_login), Rule(_check_some_address, integration_only=True)),
    narrow=_families,
    pace=_pace,
    stand_in="passeur.sandbox.smtp_server",
)

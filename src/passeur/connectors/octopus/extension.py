"""The Octopus extension's declaration: the partner's Octopus login (signed in with the
operator's software house id), a dossier or its mailbox per client, and the daily cap."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from passeur.connectors.fields import timeout_field
from passeur.domain.documents import Family
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Extension, Pacing, Rule
from passeur.domain.fields import Field, FieldKind

IMPORTS_PER_DAY = 400  # a third-party listing's cap for Octopus's document calls
DELIVERY = ("import", "mailbox")


def _check_login(config: Mapping[str, Any], secrets_set: frozenset[str]) -> None:
    if config.get("delivery") == "import" and not (
        config.get("user") and "password" in secrets_set
    ):
        raise InvalidInput(
            "the file import signs in to Octopus: give the Octopus user and its password",
            field="user",
        )


def _check_mail(config: Mapping[str, Any], secrets_set: frozenset[str]) -> None:
    if config.get("delivery") != "mailbox":
        return
    if not config.get("smtp_host") or not config.get("sender_address"):
        raise InvalidInput(
            "delivery to the dossier's mailbox sends e-mail: give the SMTP host and the "
            "sender address",
            field="smtp_host",
        )
    if bool(config.get("smtp_username")) != ("smtp_password" in secrets_set):
        raise InvalidInput("give both an SMTP username and its password, or neither")


def _check_client(config: Mapping[str, Any], secrets_set: frozenset[str]) -> None:
    if config.get("delivery") == "mailbox":
        if not config.get("mailbox_address"):
            raise InvalidInput(
                "give the dossier's mailbox address (Octopus: Manage → Folders → Mail Box)",
                field="mailbox_address",
            )
    elif not config.get("dossier"):
        raise InvalidInput(
            "give the client's Octopus dossier (its number or its name)", field="dossier"
        )


def _pace(config: Mapping[str, Any]) -> Pacing:
    return Pacing(max_concurrent=2, per_day=int(config.get("per_day") or IMPORTS_PER_DAY))


REDELIVERY = (
    "Octopus's file import has no lookup and no idempotency key, so passeur cannot promise "
    "one copy: a try whose answer was lost (a cut connection, a worker stopped after "
    "sending) is sent again, and the Document Import Viewer may then show the document "
    "twice. Every try of an export sends the same file name (date, number and document "
    "id), so a repeat is easy to recognise and delete. The mailbox route is the same: "
    "each try carries the same Message-ID."
)

EXTENSION = Extension(
    slug="octopus",
    name="Octopus",
    category="Accounting software",
    summary="Put each document in the client's Octopus dossier (Document Import Viewer), "
    "or mail it to the dossier's mailbox.",
    install_fields=(
        Field(
            "delivery",
            "Delivery",
            FieldKind.CHOICE,
            default="import",
            choices=DELIVERY,
            help="import: through Octopus's file import, into the dossier's Document "
            "Import Viewer (signs in with the Octopus user below); mailbox: by e-mail to "
            "the dossier's own address (<code>@docin.octopus.be), through the SMTP server "
            "below.",
        ),
        Field(
            "user",
            "Octopus user",
            help="The firm's Octopus login (an e-mail address); passeur signs in with it "
            "and the software house id the operator registered with Octopus.",
        ),
        Field("password", "Octopus password", secret=True),
        Field(
            "per_day",
            "Imports per day",
            FieldKind.INTEGER,
            default=IMPORTS_PER_DAY,
            minimum=1,
            maximum=100_000,
            advanced=True,
            overridable=False,
            help="Octopus caps calls per day and endpoint; passeur stays under this many "
            "imports a day for this installation, over every worker.",
        ),
        Field("smtp_host", "SMTP host", FieldKind.HOST, advanced=True),
        Field(
            "smtp_port",
            "SMTP port",
            FieldKind.INTEGER,
            default=587,
            minimum=1,
            maximum=65535,
            advanced=True,
        ),
        Field(
            "smtp_security",
            "SMTP security",
            FieldKind.CHOICE,
            default="starttls",
            choices=("starttls", "tls", "none"),
            advanced=True,
        ),
        Field("smtp_username", "SMTP username", advanced=True),
        Field("smtp_password", "SMTP password", secret=True, advanced=True),
        Field(
            "sender_address",
            "Sender address",
            FieldKind.EMAIL,
            advanced=True,
            help="Octopus takes mail from any sender; Message-IDs use its domain.",
        ),
        timeout_field(),
    ),
    integration_fields=(
        Field(
            "dossier",
            "Dossier",
            help="The client's Octopus dossier: its number or its exact name, as "
            "'Test connection' lists them. Checked with Octopus when saved, and kept by "
            "its number.",
        ),
        Field(
            "mailbox_address",
            "Dossier mailbox",
            FieldKind.EMAIL,
            help="For delivery by mailbox: the dossier's address, e.g. "
            "1234@docin.octopus.be (Octopus: Manage → Folders → Mail Box).",
        ),
    ),
    families=frozenset({Family.PURCHASES, Family.SALES, Family.OTHER}),
    sends="invoices and credit notes that came as UBL as e-fff (the UBL with its PDF "
    "embedded); those that came as a PDF, and other documents, as the PDF",
    pacing=Pacing(max_concurrent=2, per_day=IMPORTS_PER_DAY),
    pace=_pace,
    rules=(Rule(_check_login), Rule(_check_mail), Rule(_check_client, integration_only=True)),
    settings=(
        ("api_url", "octopus_api_url"),
        ("file_import_url", "octopus_file_import_url"),
        ("software_house", "octopus_software_house_uuid"),
    ),
    redelivery=REDELIVERY,
    stand_in="passeur.sandbox.octopus_server",
)

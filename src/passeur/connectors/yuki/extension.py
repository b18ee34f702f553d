"""The Yuki extension's declaration: the domain's web-service access key, its country
host, the archive folder, the daily call allowance; an administration per client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from passeur.connectors.fields import timeout_field
from passeur.domain.documents import Family
from passeur.domain.extensions import Extension, Pacing
from passeur.domain.fields import Field, FieldKind

CALLS_PER_DAY = 1000  # included with a web-service subscription (5,000 and 10,000 paid)
RESERVE = 0.1  # of the day's calls kept for sign-ins and connection tests


def _pace(config: Mapping[str, Any]) -> Pacing:
    """One upload a try; the rest of the allowance is left for sign-ins and checks."""
    calls = int(config.get("calls_per_day") or CALLS_PER_DAY)
    return Pacing(max_concurrent=2, per_day=max(1, int(calls * (1 - RESERVE))))


REDELIVERY = (
    "Yuki's archive documents no conflict rule and no idempotency key, and its search "
    "operations' parameters are not documented well enough to look a document up first, "
    "so passeur cannot promise one copy: a try whose answer was lost (a cut connection, "
    "a worker stopped after sending) uploads again, and the folder may then hold the "
    "document twice. Every try of an export sends the same file name (date, number and "
    "document id), so a repeat is easy to recognise and delete."
)

EXTENSION = Extension(
    slug="yuki",
    name="Yuki",
    category="Accounting software",
    summary="Upload each document to the client's Yuki administration, into the archive "
    "folder Yuki processes.",
    install_fields=(
        Field(
            "access_key",
            "Web-service access key",
            required=True,
            secret=True,
            help="Created in Yuki under Settings → Web service access keys (the domain "
            "needs a web-service subscription).",
        ),
        Field(
            "country",
            "Country",
            FieldKind.CHOICE,
            default="be",
            choices=("be", "nl"),
            overridable=False,
            help="The Yuki the key was made in (api.yukiworks.be or .nl): a key works only there.",
        ),
        Field(
            "folder",
            "Archive folder",
            FieldKind.INTEGER,
            default=7,
            minimum=0,
            maximum=99,
            help="The archive folder documents go to; 7 is 'to be processed' (Yuki books them).",
        ),
        Field(
            "calls_per_day",
            "Web-service calls per day",
            FieldKind.INTEGER,
            default=CALLS_PER_DAY,
            minimum=10,
            maximum=100_000,
            advanced=True,
            overridable=False,
            help="The domain's allowance (1,000 included; 5,000 or 10,000 with a paid "
            "tier). passeur uploads at most 90 % of it a day, over every worker.",
        ),
        timeout_field(),
    ),
    integration_fields=(
        Field(
            "administration",
            "Administration",
            required=True,
            help="The client's Yuki administration: its ID (a GUID) or its exact name. "
            "Checked with Yuki when saved, and kept by its ID.",
        ),
    ),
    families=frozenset({Family.PURCHASES, Family.SALES, Family.OTHER}),
    sends="invoices and credit notes that came as UBL as e-fff (the UBL with its PDF "
    "embedded); those that came as a PDF, and other documents, as the PDF",
    books_entries=True,  # folder 7 is processed into the books by Yuki, unseen
    pacing=Pacing(max_concurrent=2, per_day=int(CALLS_PER_DAY * (1 - RESERVE))),
    pace=_pace,
    settings=(("be_url", "yuki_be_url"), ("nl_url", "yuki_nl_url")),
    redelivery=REDELIVERY,
    stand_in="passeur.sandbox.yuki_server",
)

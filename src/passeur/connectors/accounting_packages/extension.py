"""The four accounting packages' declarations (see the package for why these channels)."""

from __future__ import annotations

from dataclasses import replace

from passeur.connectors.email.extension import EXTENSION as EMAIL
from passeur.connectors.sftp_extension import EXTENSION as SFTP
from passeur.domain.documents import Family
from passeur.domain.extensions import Extension
from passeur.domain.fields import Field, FieldKind

INVOICES = frozenset({Family.PURCHASES, Family.SALES})
NO_API = "{name} has no publicly documented API: a direct API connection is not available."


def _by_sftp(slug: str, name: str, where: str) -> Extension:
    fields = tuple(
        replace(
            f,
            default="/[uen_number]/[invoice_type]",
            help=f"The folder {name}'s import reads, under the root; e.g. "
            "/[uen_number]/[invoice_type] gives one folder per client and per "
            "purchases or sales.",
        )
        if f.name == "upload_path"
        else f
        for f in SFTP.install_fields
    )
    return replace(
        SFTP,
        slug=slug,
        name=name,
        category="Accounting software",
        summary=f"{NO_API.format(name=name)} Each invoice goes by SFTP to the folder "
        f"{name} imports from ({where}).",
        install_fields=fields,
        families=INVOICES,
        sends="the original file (the UBL, e-fff or PDF as received), one file per invoice",
    )


def _by_email(slug: str, name: str, where: str) -> Extension:
    return replace(
        EMAIL,
        slug=slug,
        name=name,
        category="Accounting software",
        summary=f"{NO_API.format(name=name)} Each invoice goes by e-mail to the address {where}.",
        integration_fields=(
            Field(
                "purchases_address",
                "Purchases import address",
                FieldKind.EMAIL,
                help=f"The address at which {name} takes this client's purchase invoices.",
            ),
            Field(
                "sales_address",
                "Sales import address",
                FieldKind.EMAIL,
                help=f"The address at which {name} takes this client's sales invoices.",
            ),
        ),
        families=INVOICES,
        sends="one message per invoice, the original file (UBL, e-fff or PDF) attached",
    )


COUNT_E = _by_sftp("count_e", "Count-e", "a folder on the server Count-e runs on")
PINGWIN = _by_sftp("pingwin", "Pingwin", "a folder on the PC or server Pingwin runs on")
ONEA = _by_email("onea", "Onea", "the Onea dossier takes documents at")
WINGS_ONLINE = _by_email(
    "wings_online", "Wings Online", "the Wings Online dossier takes documents at"
)

"""Importing clients from a CSV or XLSX file (product.md §1.2: Import clients), with the
same preview as bulk activation: a verdict per row before anything is saved; confirming
adds every row that would add, as draft clients, in one transaction.

A row whose external reference or enterprise number an existing client already has is
left alone ("already a client"); a row naming a client an earlier row names is a
duplicate. Imported clients get no configuration template: apply one afterwards.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from dataclasses import field as default
from typing import Any

from sqlalchemy import Connection

from passeur.bootstrap import App
from passeur.domain.access import OPERATOR, Action, Actor, require
from passeur.domain.errors import InvalidInput
from passeur.domain.fields import Field, FieldKind
from passeur.domain.partners import (
    ClientStatus,
    normalise_enterprise_number,
    normalise_vat_number,
    validate_client_name,
    validate_contact_locale,
    validate_country,
    validate_external_ref,
    validate_person_name,
)
from passeur.domain.table_columns import Column, header_keys
from passeur.domain.templates import Verdict
from passeur.formats.csv_table import CsvTable, decode, read_table
from passeur.formats.xlsx_table import is_xlsx, read_xlsx
from passeur.services import audit, clients
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import partners as rows

COLUMNS = [
    Column("name", "Legal name"),
    Column("country", "Country"),
    Column("contact_email", "Contact e-mail"),
    Column("contact_first_name", "Contact first name"),
    Column("contact_last_name", "Contact last name"),
    Column("contact_locale", "Contact locale"),
    Column("uen_number", "Enterprise number"),
    Column("vat_number", "VAT number"),
    Column("external_ref", "External reference"),
]
REQUIRED = ["name", "country", "contact_email", "contact_first_name", "contact_last_name",
            "contact_locale"]  # fmt: skip
_EMAIL = Field("contact_email", "Contact e-mail", FieldKind.EMAIL, required=True)


@dataclass(frozen=True)
class ClientRow:
    line: int
    name: str
    verdict: Verdict  # ADD, ALREADY, REFUSED (a field, with the reason) or DUPLICATE
    reason: str = ""
    field: str = ""
    values: dict[str, Any] = default(default_factory=dict)


@dataclass(frozen=True)
class ClientPlan:
    rows: list[ClientRow]

    @property
    def counts(self) -> Counter[Verdict]:
        return Counter(row.verdict for row in self.rows)

    @property
    def to_add(self) -> list[ClientRow]:
        return [row for row in self.rows if row.verdict is Verdict.ADD]


def read(data: bytes | str) -> CsvTable:
    """A CSV (any of its encodings and delimiters) or an Excel workbook."""
    if isinstance(data, str):
        return read_table(data)
    return read_xlsx(data) if is_xlsx(data) else read_table(decode(data))


def preview(app: App, partner_id: int, data: bytes | str, *, actor: Actor = OPERATOR) -> ClientPlan:
    require(actor, Action.MANAGE_CLIENTS, partner_id)
    table = read(data)
    with reading(app.engine) as conn:
        return _plan(conn, partner_id, table)


def confirm(app: App, partner_id: int, data: bytes | str, *, actor: Actor = OPERATOR) -> ClientPlan:
    """Add every row that would add (judged again), as draft clients, in one transaction."""
    require(actor, Action.MANAGE_CLIENTS, partner_id)
    table = read(data)
    with transaction(app.engine) as conn:
        rows.lock_partner(conn, partner_id)  # two imports at once do not both add a client
        plan = _plan(conn, partner_id, table)
        for row in plan.to_add:
            draft = ClientStatus.DRAFT.value
            client = rows.add_client(conn, partner_id, status=draft, **row.values)
            after = {**clients.state_of(client), "imported": True}
            change = clients.change_of("client.create", client, {}, after)
            audit.record(conn, partner_id, actor, change)
        return plan


def _plan(conn: Connection, partner_id: int, table: CsvTable) -> ClientPlan:
    keys = header_keys(table.headers, COLUMNS, REQUIRED)
    existing = rows.list_clients(conn, partner_id)
    refs = {c.external_ref.casefold() for c in existing if c.external_ref}
    numbers = {c.uen_number for c in existing if c.uen_number}
    seen: dict[str, int] = {}
    judged = []
    for line, cells in table.rows:
        given = dict(zip(keys, cells + [""] * (len(keys) - len(cells)), strict=False))
        name = given.get("name", "")
        if len(cells) > len(keys):
            judged.append(
                ClientRow(line, name, Verdict.REFUSED, "the row has more cells than the header")
            )
            continue
        try:
            values = _checked(given)
        except InvalidInput as exc:
            judged.append(ClientRow(line, name, Verdict.REFUSED, str(exc), exc.field or ""))
            continue
        marks = [m for m in (values["external_ref"].casefold(), values["uen_number"]) if m]
        if (values["external_ref"].casefold() in refs) or (values["uen_number"] in numbers):
            judged.append(ClientRow(line, name, Verdict.ALREADY, values=values))
            continue
        earlier = next((seen[m] for m in marks if m in seen), None)
        if earlier is not None:
            also = f"the client is already on line {earlier}"
            judged.append(ClientRow(line, name, Verdict.DUPLICATE, also))
            continue
        seen.update({m: line for m in marks})
        judged.append(ClientRow(line, name, Verdict.ADD, values=values))
    return ClientPlan(judged)


def _checked(given: dict[str, str]) -> dict[str, Any]:
    try:
        email = str(_EMAIL.clean(given.get("contact_email", "")) or "")
    except InvalidInput as exc:
        raise InvalidInput(str(exc), field="contact_email") from None
    if not email:
        raise InvalidInput("give the contact's e-mail address", field="contact_email")
    return {
        "name": validate_client_name(given.get("name", "")),
        "country": validate_country(given.get("country", "")),
        "contact_email": email,
        "contact_first_name": validate_person_name(
            given.get("contact_first_name", ""), "contact_first_name"
        ),
        "contact_last_name": validate_person_name(
            given.get("contact_last_name", ""), "contact_last_name"
        ),
        "contact_locale": validate_contact_locale(given.get("contact_locale", "")),
        "uen_number": normalise_enterprise_number(given.get("uen_number", "")),
        "vat_number": normalise_vat_number(given.get("vat_number", "")),
        "external_ref": validate_external_ref(given.get("external_ref", "")),
    }

"""Adding one installation to many existing clients from a CSV file (bulk activation).

The file has a column for the client (its external reference, else its enterprise
number) and one per field of the client's form. A preview judges every row (would add;
already has it; unknown client; a field that fails validation, with the reason; a client
named twice) and saves nothing; confirming judges the file again and adds every row that
would add, in one transaction. A file that cannot be read as such a table (no client
column, an unknown column, more than 10,000 rows) is refused as a whole.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from dataclasses import field as default
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from passeur.bootstrap import App
from passeur.connectors import registry
from passeur.delivery.targets import installation_owner
from passeur.domain.access import OPERATOR, Action, Actor, require
from passeur.domain.errors import Conflict, InvalidInput
from passeur.domain.extensions import Extension, Installation, effective_config
from passeur.domain.partners import Client, ClientStatus, normalise_enterprise_number
from passeur.domain.table_columns import Column, header_keys
from passeur.domain.templates import Verdict
from passeur.formats.csv_table import decode, read_table
from passeur.services import integrations, vetting
from passeur.services.installations import split_secrets
from passeur.services.integrations import check_paths
from passeur.services.vetting import needs_vetting
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import installations as rows
from passeur.storage.repositories import partners as partner_rows

CLIENT = "client"
CLIENT_LABEL = "Client reference"


def columns(ext: Extension) -> list[Column]:
    """The template file's columns: the client, then the client's form's fields (secrets
    are set on each integration's form, never in a file)."""
    fields = [Column(f.name, f.label) for f in ext.client_fields if not f.secret]
    return [Column(CLIENT, CLIENT_LABEL), *fields]


@dataclass(frozen=True)
class ImportRow:
    line: int
    reference: str
    verdict: Verdict
    reason: str = ""
    field: str = ""  # the column at fault, for a refused row
    client: Client | None = None
    values: dict[str, Any] = default(default_factory=dict)


@dataclass(frozen=True)
class ImportPlan:
    installation: Installation
    rows: list[ImportRow]

    @property
    def counts(self) -> Counter[Verdict]:
        return Counter(row.verdict for row in self.rows)

    @property
    def to_add(self) -> list[ImportRow]:
        return [row for row in self.rows if row.verdict is Verdict.ADD]


def preview(
    app: App, partner_id: int, installation_id: int, data: bytes | str, *, actor: Actor = OPERATOR
) -> ImportPlan:
    """Every row's verdict; nothing is saved."""
    require(actor, Action.MANAGE_INTEGRATIONS, partner_id)
    with reading(app.engine) as conn:
        plan = _plan(app, conn, partner_id, installation_id, data)
    return _vetted(app, partner_id, plan)


def confirm(
    app: App, partner_id: int, installation_id: int, data: bytes | str, *, actor: Actor = OPERATOR
) -> ImportPlan:
    """Add every row that would add, in one transaction (the file judged again: someone
    may have changed a client since the preview). The other rows change nothing. Rows
    the target must check (an Exact company, an Octopus dossier) are checked with it
    first, outside the saving transaction; one it refuses is a refused row."""
    require(actor, Action.MANAGE_INTEGRATIONS, partner_id)
    with reading(app.engine) as conn:
        checked = _vetted(app, partner_id, _plan(app, conn, partner_id, installation_id, data))
    verdicts = {(row.line, row.client.id if row.client else 0): row for row in checked.rows}
    with transaction(app.engine) as conn:
        plan = _plan(app, conn, partner_id, installation_id, data)
        if needs_vetting(plan.installation.extension):
            plan = replace(plan, rows=[_as_vetted(row, verdicts) for row in plan.rows])
        configs = {row.client.id: row.values for row in plan.to_add if row.client}
        try:
            with conn.begin_nested():
                rows.add_integrations(conn, partner_id, installation_id, configs)
        except IntegrityError:
            raise Conflict(
                "a client in the file got this installation meanwhile; preview the file again"
            ) from None
        inst = rows.get_installation_row(conn, partner_id, installation_id)
        added = rows.integration_ids_by_client(conn, installation_id, list(configs))
        for client_id, config in configs.items():
            after = integrations.state_of(inst, config, {})
            integrations.record(
                conn, actor, "integration.create", partner_id, client_id, added[client_id],
                {}, {**after, "imported": True},
            )  # fmt: skip
        return plan


def _vetted(app: App, partner_id: int, plan: ImportPlan) -> ImportPlan:
    """Each row that would add, checked with the target (vetting): its values as the
    target resolved them, or refused with the target's reason."""
    if not needs_vetting(plan.installation.extension):
        return plan
    judged = []
    for row in plan.rows:
        if row.verdict is Verdict.ADD:
            try:
                values = vetting.vet(app, partner_id, plan.installation.id, None, row.values)
                row = replace(row, values=values)
            except InvalidInput as exc:
                row = _refused(row.line, row.reference, str(exc), exc.field or "", row.client)
        judged.append(row)
    return replace(plan, rows=judged)


def _as_vetted(row: ImportRow, verdicts: dict[tuple[int, int], ImportRow]) -> ImportRow:
    """A row judged again in the saving transaction takes the target's verdict given
    just before; one that was not checked (the client changed meanwhile) is refused."""
    if row.verdict is not Verdict.ADD:
        return row
    before = verdicts.get((row.line, row.client.id if row.client else 0))
    if before is None or before.verdict not in (Verdict.ADD, Verdict.REFUSED):
        reason = "the client changed while the file was being checked; preview it again"
        return _refused(row.line, row.reference, reason, client=row.client)
    return before


def _plan(
    app: App, conn: Connection, partner_id: int, installation_id: int, data: bytes | str
) -> ImportPlan:
    inst = rows.get_installation_row(conn, partner_id, installation_id)
    if not inst.active:
        raise Conflict(f"{inst.name} is switched off; switch it on before adding it to clients")
    ext = registry.extension(inst.extension)
    table = read_table(decode(data) if isinstance(data, bytes) else data)
    keys = header_keys(table.headers, columns(ext), [CLIENT])
    owner = installation_owner(partner_id, inst.id)
    secrets_set = frozenset(app.secrets.open(inst.secrets, owner))
    find = _ClientFinder(partner_rows.list_clients(conn, partner_id))
    taken = rows.clients_with_installation(conn, inst.id)
    seen: dict[int, int] = {}
    judged = []
    for line, cells in table.rows:
        if len(cells) > len(keys):
            judged.append(_refused(line, "", "the row has more cells than the header"))
            continue
        given = dict(zip(keys, cells + [""] * (len(keys) - len(cells)), strict=True))
        reference = given.pop(CLIENT)
        client, why = find(reference)
        if client is None:
            judged.append(ImportRow(line, reference, Verdict.UNKNOWN_CLIENT, why, CLIENT))
        elif client.id in seen:
            also = f"the client is already on line {seen[client.id]}"
            judged.append(ImportRow(line, reference, Verdict.DUPLICATE, also, CLIENT, client))
        else:
            seen[client.id] = line
            judged.append(_judged(ext, inst, secrets_set, client, taken, line, reference, given))
    return ImportPlan(rows.to_installation(inst), judged)


def _judged(
    ext: Extension,
    inst: Any,
    secrets_set: frozenset[str],
    client: Client,
    taken: set[int],
    line: int,
    reference: str,
    given: dict[str, str],
) -> ImportRow:
    if client.id in taken:
        return ImportRow(line, reference, Verdict.ALREADY, client=client)
    if client.status is ClientStatus.ARCHIVED:
        return _refused(line, reference, f"client {client.name} is archived", client=client)
    try:
        cleaned = ext.clean_integration({k: v for k, v in given.items() if v != ""})
        config, _secrets = split_secrets(ext.secret_names(), cleaned)
        effective = effective_config(ext, inst.config, config)
        check_paths(client, effective, ext.slug)
        ext.check_rules(effective, secrets_set, integration=True)
    except InvalidInput as exc:
        return _refused(line, reference, str(exc), exc.field or "", client)
    return ImportRow(line, reference, Verdict.ADD, client=client, values=config)


def _refused(
    line: int, reference: str, reason: str, field: str = "", client: Client | None = None
) -> ImportRow:
    return ImportRow(line, reference, Verdict.REFUSED, reason, field, client)


class _ClientFinder:
    """A client by its external reference, else by its enterprise number."""

    def __init__(self, clients: list[Client]) -> None:
        self.by_ref: dict[str, list[Client]] = {}
        self.by_number: dict[str, Client] = {}
        for c in clients:
            if c.external_ref:
                self.by_ref.setdefault(c.external_ref.casefold(), []).append(c)
            if c.uen_number:
                self.by_number[c.uen_number] = c

    def __call__(self, reference: str) -> tuple[Client | None, str]:
        if not reference:
            return None, "no client reference"
        named = self.by_ref.get(reference.casefold(), [])
        if len(named) > 1:
            return None, f"{len(named)} clients have the external reference {reference}"
        if named:
            return named[0], ""
        try:
            number = normalise_enterprise_number(reference)
        except InvalidInput:
            number = ""
        found = self.by_number.get(number) if number else None
        if found is None:
            return None, f"no client has the reference or enterprise number {reference}"
        return found, ""

"""CODA bank statements: structure, Febelfin totals, globalisation and balance continuity.

febelfin-coda checks these with `assert`, which `python -O` strips, so intake has its own
parser and checks. What the trailer counts was derived from real files: records 1, 2.x, 3.x
and 8 (not 0, 4 or 9); the debit and credit totals add the booked movements (transaction
type 0-3), not the details of a globalisation (types 5-9), which would count money twice.
"""

from __future__ import annotations

from decimal import Decimal

from passeur.domain.documents import DocumentKind
from passeur.domain.errors import InvalidInput
from passeur.formats.amounts import format_coda_amount
from passeur.formats.coda_records import (
    CodaStatement,
    Movement,
    read_header,
    read_movement,
    read_new_balance,
    read_old_balance,
    read_trailer,
    split_records,
)
from passeur.formats.reading import Reading
from passeur.formats.statements import StatementSummary

MEDIA_TYPE = "text/x-coda"
BOOKED_TYPES = "0123"  # 5-9 are details of those
TOTALLED_TYPES = "12"  # one amount standing for several transactions


def looks_like_coda(data: bytes) -> bool:
    """A header record: '0' then '0000' (CODA's fixed start)."""
    return data[:5] == b"00000"


def parse_coda(data: bytes) -> list[CodaStatement]:
    """All statements of a file, checked; raise InvalidInput on the first problem."""
    records = split_records(data)
    statements: list[CodaStatement] = []
    current: CodaStatement | None = None
    expect = "0"  # the record types allowed next
    for line, record in enumerate(records, 1):
        kind = record[0]
        if kind not in "0123489":
            raise InvalidInput(
                f"CODA line {line} has record type {kind!r}; CODA records are 0, 1, 2, 3, 4, 8, 9"
            )
        if kind not in expect:
            raise InvalidInput(f"CODA line {line}: {_out_of_place(kind, expect)}")
        if kind == "0":
            current = read_header(record, line)
            statements.append(current)
            expect = "1"
            continue
        assert current is not None  # guaranteed by `expect`; not a validity check
        if kind == "1":
            read_old_balance(current, record, line)
            expect = "2348"
        elif kind in "23":
            _read_detail(current, record, line)
        elif kind == "4":
            current.free_records += 1
            continue
        elif kind == "8":
            read_new_balance(current, record, line)
            expect = "49"
        elif kind == "9":
            read_trailer(current, record, line)
            expect = "0"
            continue
        current.counted_records += 1
    if not statements:
        raise InvalidInput("the file has no CODA header record")
    if expect != "0":
        missing = {"1": "old balance (1)", "2348": "new balance (8)", "49": "trailer (9)"}[expect]
        raise InvalidInput(f"the CODA file ends before the {missing} record")
    return statements


def _out_of_place(kind: str, expect: str) -> str:
    names = {"0": "header", "1": "old balance", "8": "new balance", "9": "trailer"}
    wanted = " or ".join(names.get(k, f"record {k}") for k in expect)
    return f"record type {kind} comes where the {wanted} record is expected"


def _read_detail(statement: CodaStatement, record: str, line: int) -> None:
    article = record[:2]
    if article == "21":
        statement.movements.append(read_movement(record, line))
        return
    if article not in ("22", "23", "31", "32", "33"):
        raise InvalidInput(f"CODA line {line} has unknown record type {article!r}")
    last = statement.movements[-1] if statement.movements else None
    if last is None or record[2:6] != last.sequence:
        raise InvalidInput(
            f"CODA line {line}: record {article[0]}.{article[1]} does not follow the movement "
            "it belongs to (sequence numbers differ)"
        )
    if article == "23":
        last.counterparty_account = record[10:47].strip()
        last.counterparty_name = record[47:82].strip()


def check_statement(statement: CodaStatement, warnings: list[str]) -> StatementSummary:
    """The checks a bank's file must pass; soft findings go to `warnings`."""
    number = statement.paper_number
    _check_globalisation(statement, warnings)
    booked = [m for m in statement.movements if m.transaction_type in BOOKED_TYPES]
    credit = sum((m.amount for m in booked if m.amount > 0), Decimal(0))
    debit = -sum((m.amount for m in booked if m.amount < 0), Decimal(0))
    for label, found, announced in (
        ("debit", debit, statement.trailer_debit),
        ("credit", credit, statement.trailer_credit),
    ):
        if found != announced:
            raise InvalidInput(
                f"statement {number}: the trailer (record 9) announces a {label} total of "
                f"{format_coda_amount(announced or Decimal(0))} but the movements add up "
                f"to {format_coda_amount(found)}"
            )
    assert statement.old_balance is not None and statement.new_balance is not None
    summary = StatementSummary(
        account=statement.account,
        account_holder=statement.holder_name,
        currency=statement.currency,
        statement_number=number,
        statement_date=statement.new_balance_date,
        opening_balance=statement.old_balance,
        opening_date=statement.old_balance_date,
        closing_balance=statement.new_balance,
        closing_date=statement.new_balance_date,
        movements=len(booked),
        total_credit=credit,
        total_debit=debit,
        bank_bic=statement.bic,
        bank_id=statement.bank_id,
    )
    problem = summary.continuity_problem()
    if problem:
        raise InvalidInput(problem)
    _soft_checks(statement, warnings)
    return summary


def _check_globalisation(statement: CodaStatement, warnings: list[str]) -> None:
    """A movement with globalisation code N > 0 opens a group: its details follow under the
    same sequence number, up to the next detail carrying the same code N, and must add up to
    it. Levels may nest (codes 1, 2, ...).

    A group that is never closed is refused when its movement totals several transactions
    (type 1: totalled by the customer, 2: by the bank): the code promises the transactions
    and they are missing. For a single amount with an optional breakdown (type 3) the missing
    breakdown loses nothing, so it is only reported (a real bank sample does this).
    """
    open_groups: list[tuple[Movement, Decimal]] = []

    def unclosed(cause: str) -> None:
        group, _ = open_groups.pop()
        message = (
            f"statement {statement.paper_number}: movement {group.sequence} (line {group.line}, "
            f"transaction type {group.transaction_type}) opens a globalisation (code "
            f"{group.globalisation}) but {cause}"
        )
        if group.transaction_type in TOTALLED_TYPES:
            raise InvalidInput(f"{message}; the globalisation is inconsistent")
        warnings.append(message)

    for movement in statement.movements:
        while open_groups and movement.sequence != open_groups[-1][0].sequence:
            unclosed(f"movement {movement.sequence} starts before its details close it")
        if open_groups:  # a detail (or a nested total) counts toward the group it is in
            parent, subtotal = open_groups[-1]
            open_groups[-1] = (parent, subtotal + movement.amount)
        if open_groups and movement.globalisation == open_groups[-1][0].globalisation:
            group, details = open_groups.pop()
            if details != group.amount:
                raise InvalidInput(
                    f"statement {statement.paper_number}: the details of globalised movement "
                    f"{group.sequence} add up to {format_coda_amount(details)}, not the "
                    f"{format_coda_amount(group.amount)} it announces"
                )
        elif movement.globalisation > 0:
            open_groups.append((movement, Decimal(0)))
    while open_groups:
        unclosed("the statement ends before its details close it")


def _soft_checks(statement: CodaStatement, warnings: list[str]) -> None:
    """Findings that do not stop a real bank file (some valid samples have them)."""
    number = statement.paper_number
    counted = statement.counted_records
    if statement.trailer_count not in (counted, counted + statement.free_records):
        warnings.append(
            f"statement {number}: the trailer counts {statement.trailer_count} records, the file "
            f"has {counted} (records 1, 2, 3 and 8)"
        )
    if statement.new_account_and_currency.strip() != statement.account_and_currency.strip():
        warnings.append(
            f"statement {number}: the new balance record names another account than the old one"
        )
    if statement.new_paper_number != statement.paper_number:
        warnings.append(
            f"statement {number}: the new balance record has statement number "
            f"{statement.new_paper_number}"
        )


def read_coda(data: bytes) -> Reading:
    statements = parse_coda(data)
    warnings: list[str] = []
    summaries = [check_statement(s, warnings) for s in statements]
    if statements[-1].trailer_more_follows:
        warnings.append("the last trailer says another statement follows, but the file ends")
    if len(statements) > 1:
        warnings.append(
            f"the file holds {len(statements)} statements; the summary shows the first one"
        )
    first, header = summaries[0], statements[0]
    metadata = first.metadata()
    metadata.update(
        holder_enterprise_number=header.holder_enterprise_number or None,
        creation_date=header.creation_date,
        duplicate=header.duplicate,
        version=header.version,
        statements=[s.metadata() for s in summaries],
    )
    return Reading(
        type="coda",
        media_type=MEDIA_TYPE,
        kind=DocumentKind.ENRICHED_MOVEMENT_REPORT,
        number=first.statement_number,
        issue_date=first.statement_date,
        metadata=metadata,
        warnings=warnings,
    )

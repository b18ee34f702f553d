"""CAMT.053 (ISO 20022 bank-to-customer statement), any version camt.053.001.*.

Versions differ in small ways (BIC vs BICFI, Sts as text or code); we read the elements by
local name under the document's own namespace, so one reader serves them all.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from lxml import etree

from passeur.domain.documents import DocumentKind
from passeur.domain.errors import InvalidInput
from passeur.formats.amounts import format_amount, parse_amount
from passeur.formats.dates import iso_date
from passeur.formats.reading import Reading
from passeur.formats.statements import StatementSummary
from passeur.formats.xml import local_name, namespace

MEDIA_TYPE = "application/xml"
ISO_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
CAMT053_PREFIX = ISO_PREFIX + "camt.053.001."
OPENING = ("OPBD", "PRCD")  # opening booked, or previous day's closing
CLOSING = ("CLBD",)


def is_camt053(root: etree._Element) -> bool:
    return namespace(root).startswith(CAMT053_PREFIX)


def is_iso20022(root: etree._Element) -> bool:
    return namespace(root).startswith(ISO_PREFIX)


def read_camt(root: etree._Element) -> Reading:
    ns = {"c": namespace(root)}
    if local_name(root) != "Document" or root.find("c:BkToCstmrStmt", ns) is None:
        raise InvalidInput(
            "the camt.053 file has no Document/BkToCstmrStmt element, so it holds no statement"
        )
    statements = root.findall("c:BkToCstmrStmt/c:Stmt", ns)
    if not statements:
        raise InvalidInput("the camt.053 file holds no statement (Stmt)")
    warnings: list[str] = []
    summaries = [_statement(s, ns, warnings) for s in statements]
    if len(summaries) > 1:
        warnings.append(
            f"the file holds {len(summaries)} statements; the summary shows the first one"
        )
    first = summaries[0]
    metadata: dict[str, Any] = first.metadata()
    metadata.update(
        version=namespace(root).removeprefix(ISO_PREFIX),
        message_id=_text(root, "c:BkToCstmrStmt/c:GrpHdr/c:MsgId", ns) or None,
        statement_id=_text(statements[0], "c:Id", ns) or None,
        statements=[s.metadata() for s in summaries],
    )
    return Reading(
        type="camt",
        media_type=MEDIA_TYPE,
        kind=DocumentKind.ENRICHED_MOVEMENT_REPORT,
        number=first.statement_number,
        issue_date=first.statement_date,
        metadata=metadata,
        warnings=warnings,
    )


def _statement(stmt: etree._Element, ns: dict[str, str], warnings: list[str]) -> StatementSummary:
    number = (
        _text(stmt, "c:LglSeqNb", ns)
        or _text(stmt, "c:ElctrncSeqNb", ns)
        or _text(stmt, "c:Id", ns)
    )
    opening = _balance(stmt, ns, OPENING)
    closing = _balance(stmt, ns, CLOSING)
    if opening is None or closing is None:
        raise InvalidInput(
            f"statement {number}: a camt.053 statement needs an opening (OPBD/PRCD) and a "
            "closing booked (CLBD) balance"
        )
    credit, debit = Decimal(0), Decimal(0)
    entries = stmt.findall("c:Ntry", ns)
    for entry in entries:
        amount = parse_amount(_text(entry, "c:Amt", ns), f"statement {number}: an entry amount")
        if _text(entry, "c:CdtDbtInd", ns) == "DBIT":
            debit += amount
        else:
            credit += amount
    created = _text(stmt, "c:CreDtTm", ns)
    summary = StatementSummary(
        account=_text(stmt, "c:Acct/c:Id/c:IBAN", ns) or _text(stmt, "c:Acct/c:Id/c:Othr/c:Id", ns),
        account_holder=_text(stmt, "c:Acct/c:Ownr/c:Nm", ns) or _text(stmt, "c:Acct/c:Nm", ns),
        currency=_text(stmt, "c:Acct/c:Ccy", ns) or closing[2],
        statement_number=number,
        statement_date=closing[1]
        or iso_date(_text(stmt, "c:FrToDt/c:ToDtTm", ns) or created, "the statement date"),
        opening_balance=opening[0],
        opening_date=opening[1],
        closing_balance=closing[0],
        closing_date=closing[1],
        movements=len(entries),
        total_credit=credit,
        total_debit=debit,
        bank_bic=_text(stmt, "c:Acct/c:Svcr/c:FinInstnId/c:BIC", ns)
        or _text(stmt, "c:Acct/c:Svcr/c:FinInstnId/c:BICFI", ns),
        bank_id=_text(stmt, "c:Acct/c:Svcr/c:FinInstnId/c:Othr/c:Id", ns),
    )
    # A bank's own file is not refused for this (a public sample does not add up); say it.
    problem = summary.continuity_problem()
    if problem:
        warnings.append(problem)
    _check_summary(stmt, ns, summary, warnings)
    return summary


def _balance(
    stmt: etree._Element, ns: dict[str, str], codes: tuple[str, ...]
) -> tuple[Decimal, str, str] | None:
    """(signed amount, ISO date, currency) of the first balance with one of `codes`."""
    for code in codes:
        for bal in stmt.findall("c:Bal", ns):
            if _text(bal, "c:Tp/c:CdOrPrtry/c:Cd", ns) != code:
                continue
            amount = parse_amount(_text(bal, "c:Amt", ns), f"the {code} balance")
            if _text(bal, "c:CdtDbtInd", ns) == "DBIT":
                amount = -amount
            day = _text(bal, "c:Dt/c:Dt", ns) or _text(bal, "c:Dt/c:DtTm", ns)
            amt = bal.find("c:Amt", ns)
            currency = amt.get("Ccy", "") if amt is not None else ""
            return amount, iso_date(day, f"the {code} balance date") if day else "", currency
    return None


def _check_summary(
    stmt: etree._Element, ns: dict[str, str], summary: StatementSummary, warnings: list[str]
) -> None:
    """TxsSummry, when the bank gives one, must match the entries."""
    count = _text(stmt, "c:TxsSummry/c:TtlNtries/c:NbOfNtries", ns)
    if count and count.isdigit() and int(count) != summary.movements:
        warnings.append(
            f"statement {summary.statement_number}: the summary counts {count} entries, "
            f"the file has {summary.movements}"
        )
    for label, path, found in (
        ("credit", "c:TxsSummry/c:TtlCdtNtries/c:Sum", summary.total_credit),
        ("debit", "c:TxsSummry/c:TtlDbtNtries/c:Sum", summary.total_debit),
    ):
        announced = _text(stmt, path, ns)
        if announced and parse_amount(announced, f"the {label} sum") != found:
            warnings.append(
                f"statement {summary.statement_number}: the summary's {label} total is "
                f"{announced}, the entries add up to {format_amount(found)}"
            )


def _text(element: etree._Element, path: str, ns: dict[str, str]) -> str:
    found = element.find(path, ns)
    return (found.text or "").strip() if found is not None else ""

"""CODA 2 statements for the corpus: header 0, old balance 1, movements 2.1/2.2/2.3, new
balance 8 and trailer 9, every record 128 characters, totals and record count exact."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from passeur.formats.corpus.parties import BANK_IDS, Company

CREDIT_TRANSFER_IN = "00150000"  # type 0, family 01 (transfers), 50 received, category 000
CREDIT_TRANSFER_OUT = "00101000"  # type 0, family 01, 01 individual transfer order


@dataclass(frozen=True)
class Transfer:
    amount: Decimal  # signed: positive = money in
    counterparty: Company
    value_date: dt.date
    structured_reference: str = ""  # 12 digits, or "" for a free communication
    communication: str = ""


@dataclass(frozen=True)
class Statement:
    holder: Company
    number: int  # paper statement sequence number, 1-999
    date: dt.date  # date of the new balance
    opening_balance: Decimal
    opening_date: dt.date
    transfers: tuple[Transfer, ...]

    @property
    def closing_balance(self) -> Decimal:
        return self.opening_balance + sum((t.amount for t in self.transfers), Decimal(0))


def _date(day: dt.date) -> str:
    return day.strftime("%d%m%y")


def _amount(value: Decimal) -> tuple[str, str]:
    """(sign, 15 digits with 3 decimals): CODA writes the sign apart, 0 credit / 1 debit."""
    return ("1" if value < 0 else "0"), f"{int(abs(value) * 1000):015d}"


def _field(text: str, width: int) -> str:
    """Left-aligned, padded or cut to `width`, latin-1 safe."""
    cleaned = text.encode("latin-1", errors="replace").decode("latin-1")
    return cleaned[:width].ljust(width)


def make_coda(statement: Statement) -> bytes:
    """The statement as a CODA file (latin-1, CRLF)."""
    holder = statement.holder
    number = f"{statement.number:03d}"
    records = [
        "0"
        + "0000"
        + _date(statement.date)
        + BANK_IDS.get(holder.bic, "000")
        + "05"
        + " "  # not a duplicate
        + " " * 7
        + _field(f"{statement.number:010d}", 10)
        + _field(holder.name, 26)
        + _field(holder.bic, 11)
        + f"{int(holder.enterprise_number):011d}"
        + " "
        + "00000"
        + " " * 16
        + " " * 16
        + " " * 7
        + "2",
        "1"
        + "2"  # Belgian IBAN
        + number
        + _field(holder.iban, 34)
        + "EUR"
        + "".join(_amount(statement.opening_balance))
        + _date(statement.opening_date)
        + _field(holder.name, 26)
        + _field("Compte courant / Zichtrekening", 35)
        + number,
    ]
    debit = credit = Decimal(0)
    for sequence, transfer in enumerate(statement.transfers, 1):
        records += _movement(sequence, transfer, number)
        if transfer.amount < 0:
            debit -= transfer.amount
        else:
            credit += transfer.amount
    records.append(
        "8"
        + number
        + _field(holder.iban, 34)
        + "EUR"
        + "".join(_amount(statement.closing_balance))
        + _date(statement.date)
        + " " * 64
        + "0"
    )
    counted = len(records) - 1  # records 1, 2.x and 8; not the header
    records.append(
        "9"
        + " " * 15
        + f"{counted:06d}"
        + _amount(debit)[1]
        + _amount(credit)[1]
        + " " * 75
        + "2"  # last statement of the file
    )
    wrong = [r for r in records if len(r) != 128]
    if wrong:  # a writer bug, never the caller's input
        raise ValueError(f"CODA record of {len(wrong[0])} characters: {wrong[0]!r}")
    return ("\r\n".join(records) + "\r\n").encode("latin-1")


def _movement(sequence: int, transfer: Transfer, number: str) -> list[str]:
    sign, digits = _amount(transfer.amount)
    code = CREDIT_TRANSFER_IN if transfer.amount >= 0 else CREDIT_TRANSFER_OUT
    if transfer.structured_reference:
        communication = "1" + "101" + transfer.structured_reference + " " * 38
    else:
        communication = "0" + _field(transfer.communication, 53)
    reference = f"{sequence:04d}0000"
    party = transfer.counterparty
    return [
        "21"
        + reference
        + _field(f"REF{number}{sequence:05d}", 21)
        + sign
        + digits
        + _date(transfer.value_date)
        + code
        + communication
        + _date(transfer.value_date)
        + number
        + "0"  # no globalisation
        + "1"  # record 2.2 follows
        + " "
        + "0",
        "22" + reference + " " * 53 + " " * 35 + _field(party.bic, 11) + " " * 16 + "1" + " " + "0",
        "23"
        + reference
        + _field(party.iban, 34)
        + "EUR"
        + _field(party.name, 35)
        + " " * 43
        + "0"
        + " "
        + "0",
    ]

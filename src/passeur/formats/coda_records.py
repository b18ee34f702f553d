"""CODA 2.x records (Febelfin): split a file into 128-character records and read the fields.

Positions below are 1-based in the Febelfin text and 0-based in the slices. Only the fields
intake needs are read; information records (3.x) and free communications (4) are counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from passeur.domain.errors import InvalidInput
from passeur.formats.amounts import fixed_amount
from passeur.formats.dates import coda_date

RECORD_LENGTH = 128
SUPPORTED_VERSION = "2"


@dataclass
class Movement:
    """A record 2.1 (with what 2.2 / 2.3 add about the counterparty)."""

    line: int
    sequence: str  # continuous sequence number, 4 digits
    detail: str  # detail number, "0000" for the movement itself
    amount: Decimal  # signed: credit positive, debit negative
    value_date: str
    transaction_type: str  # first digit of the transaction code: 0-3 booked, 5-9 details
    globalisation: int
    communication: str
    counterparty_account: str = ""
    counterparty_name: str = ""


@dataclass
class CodaStatement:
    """One statement: header 0, old balance 1, movements 2/3/4, new balance 8, trailer 9."""

    header_line: int
    creation_date: str
    bank_id: str
    duplicate: bool
    addressee: str
    bic: str
    holder_enterprise_number: str
    version: str
    account_structure: str = ""
    account: str = ""
    currency: str = ""
    account_and_currency: str = ""  # raw, to compare with the new balance record
    paper_number: str = ""
    coda_sequence: str = ""
    holder_name: str = ""
    description: str = ""
    old_balance: Decimal | None = None
    old_balance_date: str = ""
    movements: list[Movement] = field(default_factory=list)
    counted_records: int = 0  # records 1, 2.x, 3.x and 8: what trailer 9 counts
    free_records: int = 0  # records 4
    new_paper_number: str = ""
    new_account_and_currency: str = ""
    new_balance: Decimal | None = None
    new_balance_date: str = ""
    trailer_count: int | None = None
    trailer_debit: Decimal | None = None
    trailer_credit: Decimal | None = None
    trailer_more_follows: bool = False


def split_records(data: bytes) -> list[str]:
    """Lines of exactly 128 characters; CRLF or LF, a missing final newline is fine.

    Latin-1 maps every byte to one character, so a line's length is its byte count. We split
    on b"\\n" ourselves: str.splitlines would also break on latin-1 NEL (0x85) and friends.
    """
    lines = [line.removesuffix(b"\r") for line in data.split(b"\n")]
    while lines and lines[-1].strip(b"\r\n\x1a ") == b"":  # trailing newline(s), DOS EOF mark
        lines.pop()
    records = [line.decode("latin-1") for line in lines]
    for number, record in enumerate(records, 1):
        if len(record) != RECORD_LENGTH:
            raise InvalidInput(
                f"CODA line {number} is {len(record)} characters long; every CODA record is "
                f"exactly {RECORD_LENGTH} characters"
            )
    return records


def read_header(record: str, line: int) -> CodaStatement:
    version = record[127]
    if version != SUPPORTED_VERSION:
        raise InvalidInput(
            f"the CODA version digit (line {line}, header record position 128) is "
            f"{version!r}; only CODA version {SUPPORTED_VERSION} is supported"
        )
    if record[1:5] != "0000":
        raise InvalidInput(f"CODA line {line}: a header record starts with '00000'")
    company = record[71:82].strip()
    return CodaStatement(
        header_line=line,
        creation_date=coda_date(record[5:11], f"the creation date (line {line})"),
        bank_id=record[11:14].strip(),
        duplicate=record[16] == "D",
        addressee=record[34:60].strip(),
        bic=record[60:71].strip(),
        holder_enterprise_number=company[-10:] if company.isdigit() and int(company) else "",
        version=version,
    )


def read_old_balance(statement: CodaStatement, record: str, line: int) -> None:
    structure = record[1]
    if structure == "0":  # Belgian account number (BBAN)
        account, currency = record[5:17], record[18:21]
    elif structure in "123":  # foreign BBAN, Belgian IBAN, foreign IBAN
        account, currency = record[5:39], record[39:42]
    else:
        raise InvalidInput(f"CODA line {line}: unknown account structure {structure!r}")
    statement.account_structure = structure
    statement.account = account.strip()
    statement.currency = currency.strip()
    statement.account_and_currency = record[5:42]
    statement.paper_number = record[2:5]
    statement.old_balance = _signed(record[42], record[43:58], f"the old balance (line {line})")
    statement.old_balance_date = coda_date(record[58:64], f"the old balance date (line {line})")
    statement.holder_name = record[64:90].strip()
    statement.description = record[90:125].strip()
    statement.coda_sequence = record[125:128]


def read_movement(record: str, line: int) -> Movement:
    sequence, detail = record[2:6], record[6:10]
    if not (sequence.isdigit() and detail.isdigit()):
        raise InvalidInput(f"CODA line {line}: the sequence and detail numbers must be digits")
    glob = record[124]
    if not glob.isdigit():
        raise InvalidInput(f"CODA line {line}: the globalisation code {glob!r} is not a digit")
    structured = record[61] == "1"
    return Movement(
        line=line,
        sequence=sequence,
        detail=detail,
        amount=_signed(record[31], record[32:47], f"the amount on line {line}"),
        value_date=record[47:53],
        transaction_type=record[53],
        globalisation=int(glob),
        communication=record[65:77] if structured and record[62:65] == "101" else record[62:115],
    )


def read_new_balance(statement: CodaStatement, record: str, line: int) -> None:
    statement.new_paper_number = record[1:4]
    statement.new_account_and_currency = record[4:41]
    statement.new_balance = _signed(record[41], record[42:57], f"the new balance (line {line})")
    statement.new_balance_date = coda_date(record[57:63], f"the new balance date (line {line})")


def read_trailer(statement: CodaStatement, record: str, line: int) -> None:
    count = record[16:22]
    if not count.isdigit():
        raise InvalidInput(
            f"CODA line {line}: the trailer's record count {count!r} is not a number"
        )
    statement.trailer_count = int(count)
    statement.trailer_debit = fixed_amount(record[22:37], f"the debit total (line {line})")
    statement.trailer_credit = fixed_amount(record[37:52], f"the credit total (line {line})")
    statement.trailer_more_follows = record[127] == "1"


def _signed(sign: str, digits: str, what: str) -> Decimal:
    if sign not in "01":
        raise InvalidInput(f"the sign of {what} is {sign!r}; CODA uses 0 (credit) or 1 (debit)")
    amount = fixed_amount(digits, what)
    return -amount if sign == "1" else amount

"""Parcels for connector tests: real bytes on disk, like the blob store gives the worker."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from passeur.connectors.base import Parcel, ParcelFile
from passeur.domain import paths
from passeur.domain.documents import AccountingStatus, Document, DocumentKind, Lifecycle


def make_parcel(
    folder: Path,
    content: bytes,
    *,
    document_id: int = 7,
    number: str = "INV-2026-001",
    kind: DocumentKind = DocumentKind.PURCHASE_INVOICE,
    media_type: str = "application/xml",
    version: int = 1,
    external_id: str = "C042",
) -> Parcel:
    folder.mkdir(parents=True, exist_ok=True)
    stored = folder / f"blob-{document_id}-{hashlib.sha256(content).hexdigest()[:8]}"
    stored.write_bytes(content)
    document = Document(
        id=document_id,
        partner_id=1,
        client_id=1,
        kind=kind,
        direction=None,
        filename=f"{number}.xml",
        media_type=media_type,
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        lifecycle=Lifecycle.APPROVED,
        accounting_status=AccountingStatus.QUEUED,
        received_at=datetime(2026, 3, 1),
        released_at=datetime(2026, 3, 2),
        number=number,
        issue_date="2026-03-01",
    )
    name = paths.file_name(document.issue_date, number, document_id, document.extension)
    main = ParcelFile(
        role="original",
        name=name,
        media_type=media_type,
        size=len(content),
        sha256=document.sha256,
        opener=lambda: stored.open("rb"),
    )
    return Parcel(
        export_id=document_id * 10 + version,
        export_key=f"psr-d{document_id}-i1-v{version}",
        document=document,
        client_name="Bakkerij Janssens",
        variables=paths.document_variables(
            uen_number="0403170701",
            external_id=external_id,
            client_name="Bakkerij Janssens",
            invoice_type=document.family.invoice_type,
            document_number=number,
            year=2026,
            month=3,
        ),
        files=(main,),
    )


def big_parcel(tmp_path: Path, size: int = 200 * 1024 + 123) -> tuple[Parcel, bytes]:
    """A document larger than the tests' single-request limit, and its bytes."""
    content = (hashlib.sha256(b"seed").digest() * (size // 32 + 1))[:size]
    return make_parcel(tmp_path / "big", content, document_id=9), content


_EFFF: dict[Path, bytes] = {}


def efff_content(shared_data: Path) -> bytes:
    """A UBL that already carries its PDF (made once from a Peppol sample): accounting
    connectors send it as it is, so the contract suite can compare byte for byte."""
    if shared_data not in _EFFF:
        from passeur.formats.efff_writer import Client, write_efff

        sample = (shared_data / "ubl/peppol-base-example.xml").read_bytes()
        document = _document(sample)
        _EFFF[shared_data] = write_efff(document, sample, None, Client("Bakkerij Janssens")).data
    return _EFFF[shared_data]


def _document(content: bytes) -> Document:
    return Document(
        id=7,
        partner_id=1,
        client_id=1,
        kind=DocumentKind.PURCHASE_INVOICE,
        direction=None,
        filename="Snippet1.xml",
        media_type="application/xml",
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        lifecycle=Lifecycle.APPROVED,
        accounting_status=AccountingStatus.QUEUED,
        received_at=datetime(2026, 3, 1),
        number="Snippet1",
        issue_date="2017-11-13",
    )

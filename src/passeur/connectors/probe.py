"""The parcel a test delivery sends: a small text file, no real document.

Its key starts with `psr-test-` and is new on every call, so a receiver never mistakes a
test for an export (nor dedupes two tests), and `Parcel.test` lets connectors say so in
what they send (an HTTP `type` of `passeur.test`, an e-mail subject starting with "Test").
"""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import datetime

from passeur.connectors.base import Parcel, ParcelFile
from passeur.domain import paths
from passeur.domain.clock import utcnow
from passeur.domain.documents import AccountingStatus, Document, DocumentKind, Lifecycle

TEXT = (
    b"This is a test delivery from passeur, sent from 'test connection'.\n"
    b"It is not an accounting document; you may delete it.\n"
)


def probe_parcel(now: datetime | None = None) -> Parcel:
    now = now or utcnow()
    digest = hashlib.sha256(TEXT).hexdigest()
    document = Document(
        id=0,
        partner_id=0,
        client_id=0,
        kind=DocumentKind.OTHER,
        direction=None,
        filename="passeur-test.txt",
        media_type="text/plain",
        sha256=digest,
        size=len(TEXT),
        lifecycle=Lifecycle.APPROVED,
        accounting_status=AccountingStatus.QUEUED,
        received_at=now,
        released_at=now,
        number="TEST",
        issue_date=f"{now:%Y-%m-%d}",
    )
    file = ParcelFile(
        role="original",
        name="passeur-test.txt",
        media_type="text/plain",
        size=len(TEXT),
        sha256=digest,
        opener=lambda: io.BytesIO(TEXT),
    )
    return Parcel(
        export_id=0,
        export_key=f"psr-test-{uuid.uuid4().hex[:16]}",
        document=document,
        client_name="Test client",
        variables=paths.document_variables(
            uen_number="0000000097",
            external_id="TEST",
            client_name="Test client",
            invoice_type="other",
            document_number="TEST",
            year=now.year,
            month=now.month,
        ),
        files=(file,),
        test=True,
    )

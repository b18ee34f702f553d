"""Which file an accounting package receives for a document, in one place.

* An invoice, credit note or receipt that came as a UBL goes out as e-fff: its UBL with
  the PDF embedded (formats/efff_writer.py; the PDF is the document's own, else one
  rendered from the UBL). The package reads the data and shows the PDF.
* One that came as a PDF (or a scan) goes out as that PDF alone: Exact Online, Octopus's
  Document Import Viewer and Yuki read PDFs themselves (targets.md §1.5, §5.1, §5.2),
  where an e-fff made around a PDF would carry no amounts ("not extracted") for them to
  book from.
* A statement or an "other" document has no e-fff form: its PDF where it has one, else
  the file as received.

`efff_file` reads the stored files and may render a PDF, so the choice runs in a thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import io

from passeur.connectors.base import Parcel, ParcelFile
from passeur.formats.efff_writer import INVOICE_FAMILIES, efff_file

XML_TYPES = frozenset({"application/xml", "text/xml"})


async def accounting_file(parcel: Parcel) -> ParcelFile:
    """The file to send for this parcel (see the module's docstring)."""
    original = parcel.main
    if parcel.document.family in INVOICE_FAMILIES and original.media_type in XML_TYPES:
        made = await asyncio.to_thread(efff_file, parcel)
        data = made.data
        return ParcelFile(
            role="efff",
            name=made.name,
            media_type=made.media_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            opener=lambda: io.BytesIO(data),
        )
    return next((f for f in parcel.files if f.media_type == "application/pdf"), original)

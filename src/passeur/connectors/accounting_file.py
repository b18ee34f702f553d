"""Which of a document's files an accounting package receives, in one place.

The original UBL when the document is one (the package reads its data), else its PDF,
else the file as received. When e-fff output lands (formats/efff.py: UBL with the PDF
embedded), this is the one function to switch to it.
"""

from __future__ import annotations

from passeur.connectors.base import Parcel, ParcelFile

XML_TYPES = frozenset({"application/xml", "text/xml"})


def accounting_file(parcel: Parcel) -> ParcelFile:
    """The file to send for this parcel (see the module's docstring)."""
    original = parcel.main
    if original.media_type in XML_TYPES:
        return original
    return next((f for f in parcel.files if f.media_type == "application/pdf"), original)

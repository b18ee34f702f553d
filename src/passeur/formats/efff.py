"""e-fff: the Belgian UBL profile accounting software imports, with the PDF embedded.

e-fff 1.0 is UBL 2.0 and names itself with vendor strings such as "FFF.BE KOALABOOX 1.0.0";
e-fff 3.0 is UBL 2.1 close to Peppol BIS 3. Its exact identifiers could not be confirmed,
so detection is lenient: any "e-fff" / "efff" / "fff.be" marker in the customization or
profile identifiers, or in the invoice type code's list URI.
"""

from __future__ import annotations

from lxml import etree

from passeur.formats.ubl_names import find, text

MARKERS = ("e-fff", "efff", "fff.be")


def is_efff(root: etree._Element) -> bool:
    claims = [
        text(root, "cbc:CustomizationID"),
        text(root, "cbc:ProfileID"),
    ]
    type_code = find(root, "cbc:InvoiceTypeCode")
    if type_code is not None:
        claims.append(type_code.get("listURI", ""))
    return any(marker in claim.lower() for claim in claims for marker in MARKERS)


def efff_warnings(root: etree._Element, has_pdf: bool) -> list[str]:
    """What an e-fff importer would miss. The PDF is the legally prevailing document there."""
    warnings = []
    if not has_pdf:
        warnings.append(
            "e-fff expects the invoice's PDF embedded in AdditionalDocumentReference; "
            "this file carries none"
        )
    return warnings

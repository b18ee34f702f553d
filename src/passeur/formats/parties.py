"""The two parties of a UBL invoice: names, VAT numbers and Belgian enterprise numbers.

Belgian documents name a company in several places and with several schemes: the Peppol
EndpointID (0208 = enterprise number, 9925 = VAT number, 9956 = the older KBO scheme),
PartyIdentification, PartyTaxScheme (VAT) and PartyLegalEntity. Older e-fff files mark the
KBO number with schemeAgencyName="KBO" instead. We read all of them, most explicit first.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from passeur.formats.identifiers import (
    belgian_vat,
    enterprise_check_ok,
    enterprise_number,
    normalize_vat,
)
from passeur.formats.ubl_names import find, findall, text

ENTERPRISE_SCHEMES = {"0208", "9956", "BE:CBE", "BE:EN"}
VAT_SCHEMES = {"9925", "BE:VAT"}
KBO_AGENCIES = {"KBO", "CBE", "BCE"}
PARTY_KEYS = (
    "name",  # the legal registration name (EN 16931 BT-27 / BT-44), else the trading name
    "trading_name",  # PartyName (BT-28 / BT-45), when given
    "legal_name",  # RegistrationName as written, None when absent
    "vat",
    "enterprise_number",
    "endpoint_id",
    "endpoint_scheme",
    "legal_id",
    "country",
)


def empty_party() -> dict[str, Any]:
    return dict.fromkeys(PARTY_KEYS)


def read_party(party: etree._Element | None, role: str, warnings: list[str]) -> dict[str, Any]:
    """The party's identity as a dict with PARTY_KEYS (None where the file says nothing)."""
    result = empty_party()
    if party is None:
        return result
    legal_name = text(party, "cac:PartyLegalEntity/cbc:RegistrationName")
    trading_name = text(party, "cac:PartyName/cbc:Name")
    endpoint = find(party, "cbc:EndpointID")
    endpoint_id = text(endpoint)
    endpoint_scheme = (endpoint.get("schemeID", "") if endpoint is not None else "").strip()
    country = text(party, "cac:PostalAddress/cac:Country/cbc:IdentificationCode").upper()
    vat = _vat(party, endpoint_id, endpoint_scheme)
    belgian = country == "BE" or (vat or "").startswith("BE")
    number = _enterprise_number(party, endpoint_id, endpoint_scheme, vat, belgian)
    result.update(
        # The seller and buyer are named by their legal name; older e-fff files may only
        # carry the trading name.
        name=legal_name or trading_name or None,
        trading_name=trading_name or None,
        legal_name=legal_name or None,
        vat=vat,
        enterprise_number=number,
        endpoint_id=endpoint_id or None,
        endpoint_scheme=endpoint_scheme or None,
        legal_id=text(party, "cac:PartyLegalEntity/cbc:CompanyID") or None,
        country=country or None,
    )
    if number and not enterprise_check_ok(number):
        warnings.append(f"the {role}'s enterprise number {number} has wrong check digits")
    if vat and vat.startswith("BE") and not enterprise_check_ok(vat[2:]):
        warnings.append(f"the {role}'s VAT number {vat} has wrong check digits")
    return result


def _vat(party: etree._Element, endpoint_id: str, endpoint_scheme: str) -> str | None:
    for scheme in findall(party, "cac:PartyTaxScheme"):
        company_id = text(scheme, "cbc:CompanyID")
        if company_id and text(scheme, "cac:TaxScheme/cbc:ID").upper() == "VAT":
            return normalize_vat(company_id)
    if endpoint_id and endpoint_scheme.upper() in VAT_SCHEMES:
        digits = normalize_vat(endpoint_id).removeprefix("BE")
        return belgian_vat("BE" + digits) or normalize_vat(endpoint_id)
    # Lenient for e-fff: a Belgian VAT number written as an identifier of any scheme.
    candidates = [endpoint_id] + [text(i) for i in findall(party, "cac:PartyIdentification/cbc:ID")]
    for candidate in candidates:
        if normalize_vat(candidate).startswith("BE") and belgian_vat(candidate):
            return belgian_vat(candidate)
    return None


def _enterprise_number(
    party: etree._Element, endpoint_id: str, endpoint_scheme: str, vat: str | None, belgian: bool
) -> str | None:
    if endpoint_scheme.upper() in ENTERPRISE_SCHEMES and enterprise_number(endpoint_id):
        return enterprise_number(endpoint_id)
    identifiers = findall(party, "cac:PartyIdentification/cbc:ID") + findall(
        party, "cac:PartyLegalEntity/cbc:CompanyID"
    )
    for identifier in identifiers:
        scheme = identifier.get("schemeID", "").strip().upper()
        agency = identifier.get("schemeAgencyName", "").strip().upper()
        if (scheme in ENTERPRISE_SCHEMES or agency in KBO_AGENCIES) and enterprise_number(
            text(identifier)
        ):
            return enterprise_number(text(identifier))
    legal_id = text(party, "cac:PartyLegalEntity/cbc:CompanyID")
    if belgian and legal_id and enterprise_number(legal_id):
        return enterprise_number(legal_id)
    # In Belgium the VAT number is the enterprise number with "BE" in front.
    if vat and vat.startswith("BE"):
        return enterprise_number(vat)
    return None

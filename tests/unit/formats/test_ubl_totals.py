"""EN 16931's sum rules BR-CO-10 to BR-CO-16: hand-made invoices that break one each, the
rounding tolerance, and every real sample adding up."""

from __future__ import annotations

import pytest

from passeur.formats.intake import read_document

from .samples import sample, sample_files

# Lines 800 + 200; allowance 50, charge 20; VAT 21 % on 770 and 6 % on 200; prepaid 100,
# rounding 0.30: every total below adds up.
GOOD = """<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:ID>SUM-1</cbc:ID>
  <cbc:IssueDate>2026-01-31</cbc:IssueDate>
  <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
  <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
  <cac:AccountingSupplierParty><cac:Party><cac:PartyLegalEntity>
    <cbc:RegistrationName>Demo Shop NV</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party><cac:PartyLegalEntity>
    <cbc:RegistrationName>Client SRL</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingCustomerParty>
  <cac:AllowanceCharge><cbc:ChargeIndicator>false</cbc:ChargeIndicator>
    <cbc:Amount currencyID="EUR">50.00</cbc:Amount></cac:AllowanceCharge>
  <cac:AllowanceCharge><cbc:ChargeIndicator>true</cbc:ChargeIndicator>
    <cbc:Amount currencyID="EUR">20.00</cbc:Amount></cac:AllowanceCharge>
  <cac:TaxTotal>
    <cbc:TaxAmount currencyID="EUR">173.70</cbc:TaxAmount>
    <cac:TaxSubtotal><cbc:TaxableAmount currencyID="EUR">770.00</cbc:TaxableAmount>
      <cbc:TaxAmount currencyID="EUR">161.70</cbc:TaxAmount></cac:TaxSubtotal>
    <cac:TaxSubtotal><cbc:TaxableAmount currencyID="EUR">200.00</cbc:TaxableAmount>
      <cbc:TaxAmount currencyID="EUR">12.00</cbc:TaxAmount></cac:TaxSubtotal>
  </cac:TaxTotal>
  <cac:TaxTotal><cbc:TaxAmount currencyID="USD">190.00</cbc:TaxAmount></cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="EUR">1000.00</cbc:LineExtensionAmount>
    <cbc:TaxExclusiveAmount currencyID="EUR">970.00</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="EUR">1143.70</cbc:TaxInclusiveAmount>
    <cbc:AllowanceTotalAmount currencyID="EUR">50.00</cbc:AllowanceTotalAmount>
    <cbc:ChargeTotalAmount currencyID="EUR">20.00</cbc:ChargeTotalAmount>
    <cbc:PrepaidAmount currencyID="EUR">100.00</cbc:PrepaidAmount>
    <cbc:PayableRoundingAmount currencyID="EUR">0.30</cbc:PayableRoundingAmount>
    <cbc:PayableAmount currencyID="EUR">1044.00</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
  <cac:InvoiceLine><cbc:ID>1</cbc:ID>
    <cbc:LineExtensionAmount currencyID="EUR">800.00</cbc:LineExtensionAmount>
    <cac:AllowanceCharge><cbc:ChargeIndicator>false</cbc:ChargeIndicator>
      <cbc:Amount currencyID="EUR">999.00</cbc:Amount></cac:AllowanceCharge>
  </cac:InvoiceLine>
  <cac:InvoiceLine><cbc:ID>2</cbc:ID>
    <cbc:LineExtensionAmount currencyID="EUR">200.00</cbc:LineExtensionAmount>
  </cac:InvoiceLine>
</Invoice>"""


def mismatches(document: str) -> dict[str, str]:
    reading = read_document(document.encode())
    found = {m["rule"]: m["message"] for m in reading.metadata["totals_mismatches"]}
    for message in found.values():
        assert message in reading.warnings, "every mismatch is a warning the accountant sees"
    return found


def test_a_document_whose_totals_add_up_has_no_mismatch() -> None:
    # A line's own allowance and the tax-currency TaxTotal are not document-level sums.
    assert mismatches(GOOD) == {}


@pytest.mark.parametrize(
    ("before", "after", "rules"),
    [
        (
            '"EUR">800.00</cbc:LineExtensionAmount>',
            '"EUR">810.00</cbc:LineExtensionAmount>',
            {"BR-CO-10"},
        ),
        ('"EUR">50.00</cbc:Amount>', '"EUR">60.00</cbc:Amount>', {"BR-CO-11"}),
        ('"EUR">20.00</cbc:Amount>', '"EUR">25.00</cbc:Amount>', {"BR-CO-12"}),
        ('"EUR">970.00</cbc:TaxEx', '"EUR">980.00</cbc:TaxEx', {"BR-CO-13", "BR-CO-15"}),
        ('"EUR">161.70</cbc:TaxAmount>', '"EUR">161.00</cbc:TaxAmount>', {"BR-CO-14"}),
        ('"EUR">173.70</cbc:TaxAmount>', '"EUR">173.00</cbc:TaxAmount>', {"BR-CO-14", "BR-CO-15"}),
        ('"EUR">1044.00</cbc:Pay', '"EUR">1045.00</cbc:Pay', {"BR-CO-16"}),
        ('"EUR">0.30</cbc:PayableRounding', '"EUR">0.00</cbc:PayableRounding', {"BR-CO-16"}),
    ],
)
def test_each_broken_rule_is_named(before: str, after: str, rules: set[str]) -> None:
    assert before in GOOD
    assert set(mismatches(GOOD.replace(before, after, 1))) == rules


def test_a_document_missing_its_prepaid_amount_does_not_add_up() -> None:
    broken = GOOD.replace('<cbc:PrepaidAmount currencyID="EUR">100.00</cbc:PrepaidAmount>', "")
    found = mismatches(broken)
    assert found == {
        "BR-CO-16": "the totals do not add up (BR-CO-16): the total with VAT less prepaid "
        "plus rounding "
        "comes to 1144.00, but the amount due (PayableAmount) says 1044.00"
    }


def test_the_tax_itself_alone_is_rule_15() -> None:
    both = GOOD.replace('"EUR">173.70</cbc:TaxAmount>', '"EUR">173.00</cbc:TaxAmount>').replace(
        '"EUR">161.70</cbc:TaxAmount>', '"EUR">161.00</cbc:TaxAmount>'
    )
    assert set(mismatches(both)) == {"BR-CO-15"}


def test_sums_are_rounded_to_the_cent_as_en16931_does() -> None:
    # 400.004 + 600.004 = 1000.008: the cent rounding gives 1000.01.
    lines = GOOD.replace(">800.00</cbc:LineExtensionAmount>", ">400.004</cbc:LineExtensionAmount>")
    lines = lines.replace(">200.00</cbc:LineExtensionAmount>", ">600.004</cbc:LineExtensionAmount>")
    assert set(mismatches(lines)) == {"BR-CO-10"}  # stated 1000.00, the lines make 1000.01
    one_cent = lines.replace(
        ">1000.00</cbc:LineExtensionAmount>", ">1000.01</cbc:LineExtensionAmount>"
    )
    assert "BR-CO-10" not in mismatches(one_cent)
    # 400.002 + 600.002 = 1000.004 rounds to 1000.00: within EN 16931's tolerance.
    within = GOOD.replace(">800.00</cbc:LineExtensionAmount>", ">400.002</cbc:LineExtensionAmount>")
    within = within.replace(
        ">200.00</cbc:LineExtensionAmount>", ">600.002</cbc:LineExtensionAmount>"
    )
    assert mismatches(within) == {}


def test_a_rule_whose_total_is_absent_is_not_checked() -> None:
    """Older e-fff files leave totals out; intake already requires the amount due only."""
    bare = GOOD.replace(
        '<cbc:TaxInclusiveAmount currencyID="EUR">1143.70</cbc:TaxInclusiveAmount>', ""
    )
    assert "BR-CO-15" not in mismatches(bare) and "BR-CO-16" not in mismatches(bare)


def test_the_message_says_what_does_not_add_up() -> None:
    found = mismatches(GOOD.replace('"EUR">800.00</cbc:Line', '"EUR">810.00</cbc:Line', 1))
    assert found["BR-CO-10"] == (
        "the totals do not add up (BR-CO-10): the lines add up to 1010.00, "
        "but the line total (LineExtensionAmount) says 1000.00"
    )


@pytest.mark.parametrize("relative", [s for s in sample_files() if s.startswith(("ubl/", "efff/"))])
def test_every_real_sample_adds_up(relative: str) -> None:
    reading = read_document(sample(relative))
    assert reading.metadata["totals_mismatches"] == []
    assert not [w for w in reading.warnings if "do not add up" in w]

"""Made-up Belgian companies with valid enterprise numbers, VAT numbers and IBANs."""

from __future__ import annotations

import random
from dataclasses import dataclass

from passeur.formats.identifiers import belgian_iban, with_check_digits

TRADES = (
    "Atelier", "Boulangerie", "Brasserie", "Bureau", "Cabinet", "Fleuriste", "Garage",
    "Imprimerie", "Menuiserie", "Pharmacie", "Studio", "Transport", "Traiteur", "Drukkerij",
    "Bakkerij", "Schrijnwerkerij",
)  # fmt: skip
SURNAMES = (
    "Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens",
    "Wouters", "De Smet", "Dubois", "Lambert", "Dupont", "Martin", "Leclercq", "Verhoeven",
    "Lejeune", "Renard", "Van den Broeck", "Simon",
)  # fmt: skip
LEGAL_FORMS = ("SRL", "BV", "NV", "SA", "CommV", "SC")
PLACES = (
    ("1000", "Bruxelles"), ("2000", "Antwerpen"), ("9000", "Gent"), ("4000", "Liège"),
    ("3000", "Leuven"), ("8000", "Brugge"), ("5000", "Namur"), ("6000", "Charleroi"),
    ("7000", "Mons"), ("1300", "Wavre"), ("3500", "Hasselt"), ("2800", "Mechelen"),
)  # fmt: skip
STREETS = (
    "Rue de la Station", "Kerkstraat", "Stationsstraat", "Rue Haute", "Dorpstraat",
    "Avenue Louise", "Grote Markt", "Chaussée de Namur", "Molenstraat", "Rue du Moulin",
)  # fmt: skip
# (bank code prefix of the account number, BIC) of a few Belgian banks.
BANKS = (
    ("001", "GEBABEBB"), ("068", "GKCCBEBB"), ("310", "BBRUBEBB"), ("734", "KREDBEBB"),
    ("000", "BPOTBEB1"), ("363", "BBRUBEBB"), ("143", "GEBABEBB"), ("735", "KREDBEBB"),
)  # fmt: skip
BANK_IDS = {"GEBABEBB": "001", "GKCCBEBB": "068", "BBRUBEBB": "310", "KREDBEBB": "734"}


@dataclass(frozen=True)
class Company:
    name: str
    enterprise_number: str  # 10 digits, valid check digits
    street: str
    postal_zone: str
    city: str
    iban: str
    bic: str

    @property
    def vat(self) -> str:
        return f"BE{self.enterprise_number}"


def make_company(rng: random.Random, taken: set[str]) -> Company:
    """A company whose enterprise number is not in `taken` (which it is added to)."""
    while True:
        # Historic numbers run 0200.000.000-0999.999.999: a 0, then 2-9, then 6 digits.
        number = with_check_digits(f"0{rng.randint(2, 9)}{rng.randint(0, 999_999):06d}")
        if number not in taken:
            taken.add(number)
            break
    postal_zone, city = rng.choice(PLACES)
    bank_code, bic = rng.choice(BANKS)
    name = f"{rng.choice(TRADES)} {rng.choice(SURNAMES)} {rng.choice(LEGAL_FORMS)}"
    return Company(
        name=name,
        enterprise_number=number,
        street=f"{rng.choice(STREETS)} {rng.randint(1, 250)}",
        postal_zone=postal_zone,
        city=city,
        iban=belgian_iban(f"{bank_code}{rng.randint(0, 9_999_999):07d}"),
        bic=bic,
    )

"""Demo corpus: realistic Belgian invoices (PDF and Peppol UBL), credit notes and CODA
statements, deterministic from a seed, for demos, tests and benchmarks. All data is made up.
"""

from passeur.formats.corpus.coda_writer import Statement, Transfer, make_coda
from passeur.formats.corpus.generator import GeneratedFile, generate
from passeur.formats.corpus.invoice_pdf import make_invoice_pdf, make_padded_pdf
from passeur.formats.corpus.invoices import Invoice, Line, make_invoice
from passeur.formats.corpus.parties import Company, make_company
from passeur.formats.corpus.ubl_writer import make_ubl

__all__ = [
    "Company",
    "GeneratedFile",
    "Invoice",
    "Line",
    "Statement",
    "Transfer",
    "generate",
    "make_coda",
    "make_company",
    "make_invoice",
    "make_invoice_pdf",
    "make_padded_pdf",
    "make_ubl",
]

"""Reading document formats: PDF, UBL 2.1 / Peppol BIS 3, e-fff, CODA, CAMT.053.

Entry points: `intake.read_document` (detect and read one file), `inspection.inspect` (the
JSON of `passeur documents inspect`) and `corpus` (a deterministic demo corpus). Nothing
here does network I/O or imports a web framework.
"""

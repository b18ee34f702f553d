"""Reading document formats: PDF, UBL 2.1 / Peppol BIS 3, e-fff, CODA, CAMT.053."""

"""Pure rules of passeur: no I/O, no framework imports."""

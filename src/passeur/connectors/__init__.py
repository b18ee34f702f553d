"""One module per extension; each declares data and implements check() and deliver()."""

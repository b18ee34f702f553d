"""The `passeur` command line."""

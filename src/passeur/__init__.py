"""passeur: export an accounting firm's client documents to the applications it works with."""

__version__ = "0.1.0"

"""The e-mail extension: a package (declaration, subject, message, connector)."""

from passeur.connectors.email.connector import EmailConnector
from passeur.connectors.email.extension import EXTENSION

__all__ = ["EXTENSION", "EmailConnector"]

"""The HTTP extension: a package (declaration, payloads, signing, the connector)."""

from passeur.connectors.http.connector import HttpConnector
from passeur.connectors.http.extension import EXTENSION

__all__ = ["EXTENSION", "HttpConnector"]

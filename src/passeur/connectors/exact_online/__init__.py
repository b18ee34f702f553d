"""The Exact Online extension: a package (declaration, the API calls, the connector)."""

from passeur.connectors.exact_online.connector import ExactOnlineConnector
from passeur.connectors.exact_online.extension import EXTENSION

__all__ = ["EXTENSION", "ExactOnlineConnector"]

"""The Dropbox extension: a package (declaration, the API calls, the connector)."""

from passeur.connectors.dropbox.connector import DropboxConnector
from passeur.connectors.dropbox.extension import EXTENSION

__all__ = ["EXTENSION", "DropboxConnector"]

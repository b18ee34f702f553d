"""The OneDrive extension: a package (declaration, the API calls, the connector)."""

from passeur.connectors.onedrive.connector import OneDriveConnector
from passeur.connectors.onedrive.extension import EXTENSION

__all__ = ["EXTENSION", "OneDriveConnector"]

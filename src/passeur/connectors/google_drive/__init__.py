"""The Google Drive extension: a package (declaration, the API calls, the connector)."""

from passeur.connectors.google_drive.connector import GoogleDriveConnector
from passeur.connectors.google_drive.extension import EXTENSION

__all__ = ["EXTENSION", "GoogleDriveConnector"]

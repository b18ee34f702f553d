"""The ClearFacts extension: a package (declaration, the GraphQL calls, the connector)."""

from passeur.connectors.clearfacts.connector import ClearfactsConnector, upload_file
from passeur.connectors.clearfacts.extension import EXTENSION

__all__ = ["EXTENSION", "ClearfactsConnector", "upload_file"]

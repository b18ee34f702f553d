"""Octopus (Inaras): the file import into a dossier, or its mailbox."""

from passeur.connectors.octopus.connector import OctopusConnector
from passeur.connectors.octopus.extension import EXTENSION

__all__ = ["EXTENSION", "OctopusConnector"]

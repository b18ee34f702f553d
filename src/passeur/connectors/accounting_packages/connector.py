"""The four accounting packages' connectors: the shared SFTP and e-mail connectors, each
with its package's declaration."""

from __future__ import annotations

from passeur.connectors.accounting_packages.extension import COUNT_E, ONEA, PINGWIN, WINGS_ONLINE
from passeur.connectors.email.connector import EmailConnector
from passeur.connectors.sftp import SftpConnector


class CountEConnector(SftpConnector):
    extension = COUNT_E


class PingwinConnector(SftpConnector):
    extension = PINGWIN


class OneaConnector(EmailConnector):
    extension = ONEA


class WingsOnlineConnector(EmailConnector):
    extension = WINGS_ONLINE


CONNECTORS = (CountEConnector, PingwinConnector, OneaConnector, WingsOnlineConnector)

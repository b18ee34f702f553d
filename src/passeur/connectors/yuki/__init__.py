"""Yuki (Visma): the archive's documented upload, over SOAP."""

from passeur.connectors.yuki.connector import YukiConnector
from passeur.connectors.yuki.extension import EXTENSION

__all__ = ["EXTENSION", "YukiConnector"]

"""Standard Webhooks signatures (standardwebhooks.com, spec 1.0; targets.md §8).

The signed content is `<webhook-id>.<webhook-timestamp>.<body>` with the body exactly as
sent; the signature is HMAC-SHA256 with the key, in standard base64, sent as
`webhook-signature: v1,<signature>`. A secret is `whsec_` followed by the base64 of 24 to
64 random bytes, with or without its `=` padding. During a rotation the field holds
several secrets separated by spaces, and every request carries one signature per secret,
so the receiver may switch whenever it likes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from passeur.domain.errors import InvalidInput

PREFIX = "whsec_"
MIN_KEY, MAX_KEY = 24, 64
HOW_TO_MAKE = "echo whsec_$(openssl rand -base64 32)"


def new_secret() -> str:
    return PREFIX + base64.b64encode(os.urandom(32)).decode()


def parse_secrets(value: str) -> tuple[bytes, ...]:
    """The keys of one or more space-separated secrets; InvalidInput when malformed."""
    keys = []
    for secret in value.split():
        if not secret.startswith(PREFIX):
            raise InvalidInput(
                f"a signing secret starts with '{PREFIX}' followed by base64; make one "
                f"with: {HOW_TO_MAKE}"
            )
        encoded = secret[len(PREFIX) :]
        # Padding may be left off, as the reference libraries accept.
        encoded += "=" * (-len(encoded) % 4)
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise InvalidInput("the signing secret is not valid base64 after 'whsec_'") from None
        if not MIN_KEY <= len(key) <= MAX_KEY:
            raise InvalidInput(
                f"the signing secret's key is {len(key)} bytes; use {MIN_KEY} to {MAX_KEY} "
                f"random bytes ({HOW_TO_MAKE})"
            )
        keys.append(key)
    if not keys:
        raise InvalidInput(f"give a signing secret ({HOW_TO_MAKE})")
    return tuple(keys)


def check_secret(value: str) -> None:
    parse_secrets(value)


class Signer:
    """Signs a body fed in chunks (it is streamed, never held whole)."""

    def __init__(self, keys: tuple[bytes, ...], message_id: str, timestamp: int) -> None:
        prefix = f"{message_id}.{timestamp}.".encode()
        self._macs = [hmac.new(key, prefix, hashlib.sha256) for key in keys]

    def update(self, chunk: bytes) -> None:
        for mac in self._macs:
            mac.update(chunk)

    def header(self) -> str:
        return " ".join(f"v1,{base64.b64encode(mac.digest()).decode()}" for mac in self._macs)


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signer = Signer(parse_secrets(secret), message_id, timestamp)
    signer.update(body)
    return signer.header()

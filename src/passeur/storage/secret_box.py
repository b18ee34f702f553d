"""Secrets encrypted at rest: AES-256-GCM, bound to their owner by associated data.

A sealed value reads `v1.<key id>.<base64(nonce + ciphertext)>`. Keys are listed newest
first; the newest seals, any of them opens, and `reseal` moves a value to the newest key
(rotation). The associated data names the owner (partner, installation, integration), so a
ciphertext copied to another row or tenant does not open.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class SecretBoxError(Exception):
    """A sealed value that cannot be opened with the configured keys."""


class SecretBox:
    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("the secret box needs at least one key")
        for key in keys:
            if len(key) != 32:
                raise ValueError("secret keys must be 32 bytes (base64 of 32 random bytes)")
        self._raw = {_key_id(k): k for k in keys}
        self._newest = _key_id(keys[0])
        self._ciphers: dict[str, AESGCM] = {}

    @classmethod
    def from_setting(cls, text: str) -> SecretBox:
        """The keyring: base64 keys, newest first, separated by commas or line breaks
        (PASSEUR_SECRET_KEYS, or the key file)."""
        parts = [part for part in re.split(r"[,\s]+", text) if part]
        try:
            keys = [base64.b64decode(part, validate=True) for part in parts]
        except ValueError:
            raise SecretBoxError("a secret key is not valid base64") from None
        try:
            return cls(keys)
        except ValueError as exc:
            raise SecretBoxError(str(exc)) from None

    @property
    def newest_id(self) -> str:
        """The id of the key that seals (shown by `passeur keys check`)."""
        return self._newest

    def seal(self, values: dict[str, str], owner: str) -> str:
        if not values:
            return ""
        nonce = os.urandom(12)
        data = json.dumps(values, sort_keys=True).encode()
        sealed = self._cipher(self._newest).encrypt(nonce, data, owner.encode())
        return f"v1.{self._newest}.{base64.b64encode(nonce + sealed).decode()}"

    def open(self, token: str, owner: str) -> dict[str, str]:
        if not token:
            return {}
        try:
            version, key_id, payload = token.split(".", 2)
            raw = base64.b64decode(payload)
        except ValueError:
            raise SecretBoxError("a sealed secret is malformed") from None
        if version != "v1" or key_id not in self._raw:
            raise SecretBoxError(f"no configured key opens secrets sealed with key {key_id}")
        from cryptography.exceptions import InvalidTag

        try:
            data = self._cipher(key_id).decrypt(raw[:12], raw[12:], owner.encode())
        except InvalidTag:
            raise SecretBoxError("a sealed secret does not belong to this owner") from None
        loaded: dict[str, str] = json.loads(data)
        return loaded

    def _cipher(self, key_id: str) -> AESGCM:
        # Made on first use: cryptography costs a command that opens no secret about
        # 5 ms of its start-up. Two threads may both make one; either serves.
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            cipher = self._ciphers[key_id] = AESGCM(self._raw[key_id])
        return cipher

    def reseal(self, token: str, owner: str) -> str:
        """Re-encrypt with the newest key (key rotation)."""
        return self.seal(self.open(token, owner), owner)

    def is_current(self, token: str) -> bool:
        parts = token.split(".", 2)
        return not token or (len(parts) == 3 and parts[1] == self._newest)


def _key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def load_or_create_key_file(path: Path) -> str:
    """The key file in the data folder, created with mode 0600 on first use."""
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise SecretBoxError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
        return path.read_text().strip()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(new_key() + "\n")
    try:
        os.link(staging, path)  # atomic: when two processes race, the first key wins
    except FileExistsError:
        pass
    finally:
        os.unlink(staging)
    return path.read_text().strip()

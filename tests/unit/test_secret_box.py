import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from passeur.storage.secret_box import (
    SecretBox,
    SecretBoxError,
    load_or_create_key_file,
    new_key,
)


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=200), min_size=1))
def test_round_trip_and_no_clear_text(values: dict[str, str]) -> None:
    box = SecretBox.from_setting(new_key())
    sealed = box.seal(values, "partner:1/installation:2")
    assert box.open(sealed, "partner:1/installation:2") == values
    for value in values.values():
        if len(value) >= 4:
            assert value not in sealed


def test_a_secret_does_not_open_for_another_owner() -> None:
    box = SecretBox.from_setting(new_key())
    sealed = box.seal({"password": "hunter22"}, "partner:1/installation:2")
    with pytest.raises(SecretBoxError, match="does not belong"):
        box.open(sealed, "partner:2/installation:2")


def test_rotation_keeps_old_secrets_readable_and_reseals_with_the_new_key() -> None:
    old, new = new_key(), new_key()
    sealed = SecretBox.from_setting(old).seal({"p": "v"}, "o")
    rotated = SecretBox.from_setting(f"{new},{old}")
    assert not rotated.is_current(sealed)
    resealed = rotated.reseal(sealed, "o")
    assert rotated.is_current(resealed)
    assert SecretBox.from_setting(new).open(resealed, "o") == {"p": "v"}
    with pytest.raises(SecretBoxError, match="no configured key"):
        SecretBox.from_setting(new).open(sealed, "o")


def test_generated_key_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    key = load_or_create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key_file(path) == key
    os.chmod(path, 0o644)
    with pytest.raises(SecretBoxError, match="readable by others"):
        load_or_create_key_file(path)

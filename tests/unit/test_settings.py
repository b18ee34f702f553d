from pathlib import Path

import pytest
from pydantic import ValidationError

from passeur.settings import Settings


def test_settings_travel_to_another_process_unchanged(tmp_path: Path) -> None:
    first = Settings(
        data_dir=tmp_path, secret_keys="a2V5", retry_schedule="0,1s", allowed_networks="10.0.0.0/8"
    )
    env = first.as_environment()
    assert env["PASSEUR_SECRET_KEYS"] == "a2V5"
    assert env["PASSEUR_DATABASE_URL"].startswith("sqlite:///")
    again = Settings(**{k.removeprefix("PASSEUR_").lower(): v for k, v in env.items()})
    assert again.effective_database_url == first.effective_database_url
    assert again.secret_keys.get_secret_value() == "a2V5"
    assert again.schedule == first.schedule
    assert again.allowed_networks == "10.0.0.0/8"
    assert again.data_dir == first.data_dir


def test_a_bad_retry_schedule_is_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(retry_schedule="soon")

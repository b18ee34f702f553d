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


def test_settings_come_from_passeur_variables_in_any_case(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PASSEUR_LEASE_SECONDS", "7.5")
    monkeypatch.setenv("passeur_Worker_Batch", "3")
    monkeypatch.setenv("PASSEUR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PASSEUR_NOT_A_SETTING", "ignored")
    monkeypatch.setenv("LEASE_SECONDS", "99")  # no prefix: not ours
    settings = Settings()
    assert (settings.lease_seconds, settings.worker_batch) == (7.5, 3)
    assert settings.data_dir == tmp_path
    assert settings.poll_seconds == 1.0  # unset: the default
    assert Settings(lease_seconds=2).lease_seconds == 2  # a given value beats the variable


def test_a_bad_variable_is_refused_under_its_field_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSEUR_WEB_PORT", "eighty")
    with pytest.raises(ValidationError) as raised:
        Settings()
    assert raised.value.errors()[0]["loc"] == ("web_port",)
    monkeypatch.setenv("PASSEUR_WEB_PORT", "")  # set but empty is a value, not the default
    with pytest.raises(ValidationError):
        Settings()

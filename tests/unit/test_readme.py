from pathlib import Path

from passeur.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_documented_in_the_readme() -> None:
    text = README.read_text()
    for name in Settings.model_fields:
        assert f"PASSEUR_{name.upper()}" in text, f"PASSEUR_{name.upper()} is not in README.md"
    assert "make demo" in text and "make test" in text

"""Names are one line of text; what a terminal prints of stored text is escaped."""

from __future__ import annotations

import pytest

from passeur.cli.common import table
from passeur.domain.errors import InvalidInput
from passeur.domain.names import check_name, shown


@pytest.mark.parametrize(
    "name",
    ["Bakkerij\nJanssens", "Bakkerij\r", "tab\there", "\x1b[31mRed\x1b[0m", "nul\x00", "c1\x9b2J"],
)
def test_a_name_with_a_control_character_is_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match="a client's name may not contain control characters"):
        check_name(name, "a client's name")


def test_ordinary_names_pass_unchanged() -> None:
    for name in ("Bakkerij Janssens & Zn", "Café Ötztal — 2e vestiging", "株式会社", "a\u00a0b"):
        assert check_name(name, "a name") == name


def test_control_characters_are_shown_as_their_escapes() -> None:
    assert shown("a\nb\x1b[31mc\x00d\x9be\tf é") == "a\\nb\\x1b[31mc\\x00d\\x9be\\tf é"


def test_a_table_never_prints_a_raw_control_character(capsys: pytest.CaptureFixture) -> None:
    table([[1, "Evil\x1b]0;owned\x07\nCorp"], [2, "Plain"]], ["ID", "NAME"])
    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "\x07" not in printed
    lines = printed.splitlines()
    assert len(lines) == 3, "a line break in a name may not add a row"
    assert lines[1].startswith("1   Evil\\x1b]0;owned\\x07\\nCorp")

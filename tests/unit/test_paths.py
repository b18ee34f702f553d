import pytest

from passeur.domain import paths
from passeur.domain.errors import InvalidInput

VALUES = paths.document_variables(
    uen_number="0403170701",
    external_id="C042",
    client_name="Bakkerij Janssens",
    invoice_type="purchases",
    document_number="INV-7",
    year=2026,
    month=3,
)


def test_documented_sample_path_renders_relative_to_the_root() -> None:
    template = paths.PathTemplate.parse("/invoice_import/[external_id]_[uen_number]/[invoice_type]")
    assert template.render(VALUES) == "invoice_import/C042_0403170701/purchases"


def test_year_month_number_and_client_name() -> None:
    template = paths.PathTemplate.parse("[client_name]/[year]/[month]/[document_number]")
    assert template.render(VALUES) == "Bakkerij Janssens/2026/03/INV-7"


def test_root_alone_renders_to_empty() -> None:
    assert paths.PathTemplate.parse("/").render(VALUES) == ""


@pytest.mark.parametrize(
    "template, reason",
    [
        ("../etc", "'..'"),
        ("a/../../b", "'..'"),
        ("a/./b", "'.'"),
        ("invoices//etc/passwd", "absolute jump"),
        ("C:/Windows", "drive"),
        ("~/x", "'~'"),
        ("a\\b", "'/'"),
        ("[unknown]/x", "unknown variable [unknown]"),
        ("[year", "unbalanced"),
        ("year]/x", "unbalanced"),
        ("a/b\x00c", "control characters"),
        ("", "empty"),
        ("a/b;rm -rf", "not allowed"),
    ],
)
def test_templates_that_could_escape_or_are_malformed_are_refused(
    template: str, reason: str
) -> None:
    with pytest.raises(InvalidInput, match=reason.replace("[", r"\[").replace("]", r"\]")):
        paths.PathTemplate.parse(template)


@pytest.mark.parametrize("hostile", ["../../etc", "/etc/passwd", "..", "a/b", "x\\y", "\n"])
def test_variable_values_cannot_leave_their_segment(hostile: str) -> None:
    template = paths.PathTemplate.parse("/in/[external_id]/[invoice_type]")
    rendered = template.render({**VALUES, "external_id": hostile})
    parts = rendered.split("/")
    assert len(parts) == 3 and parts[0] == "in" and parts[2] == "purchases"
    assert parts[1] not in ("", ".", "..") and "/" not in parts[1]


def test_an_empty_variable_is_a_clear_error() -> None:
    template = paths.PathTemplate.parse("/in/[external_id]")
    with pytest.raises(InvalidInput, match=r"\[external_id\] but it is empty"):
        template.render({**VALUES, "external_id": ""})


def test_join_under_keeps_paths_below_the_root() -> None:
    assert paths.join_under(".", "a/b") == "a/b"
    assert paths.join_under("/srv/in", "a") == "/srv/in/a"
    assert paths.join_under("/", "a") == "/a"
    with pytest.raises(InvalidInput):
        paths.join_under("/srv", "../x")


def test_file_names_are_deterministic_and_safe() -> None:
    first = paths.file_name("2026-03-01", "INV/7", 42, "xml")
    assert first == paths.file_name("2026-03-01", "INV/7", 42, "xml")
    assert first == "2026-03-01_INV_7_d42.xml"
    assert paths.file_name("", "", 9, "pdf") == "d9.pdf"


LONGEST = {name: "x" * most for name, most in paths.LONGEST_VALUE.items()}


def test_a_folder_name_that_can_pass_255_bytes_is_refused_when_saved() -> None:
    # 120 + 1 + 40 + 1 + 120 = 282 bytes with the longest values the variables can take
    with pytest.raises(InvalidInput, match=r"can render to 282 bytes.*at most 255 per name"):
        paths.validate("/in/[client_name]_[external_id]_[document_number]")
    with pytest.raises(InvalidInput, match="can render to 256 bytes"):
        paths.validate("/" + "a" * 136 + "[client_name]")
    paths.validate("/" + "a" * 135 + "[client_name]")  # 255 bytes: accepted


def test_a_path_that_can_pass_the_total_is_refused_when_saved() -> None:
    folders = "/".join(["[client_name]", "[document_number]"] * 3 + ["[client_name]"])
    with pytest.raises(InvalidInput, match=r"can render to 846 bytes.*at most 1024"):
        paths.validate(folders)


@pytest.mark.parametrize(
    "template",
    [
        "/invoice_import/[external_id]_[uen_number]/[invoice_type]",
        "/[client_name]/[external_id]/[year]/[month]/[invoice_type]",
        "/Boekhouding/[client_name] ([uen_number])/[year]-[month]/[document_number]",
    ],
)
def test_usual_templates_stay_within_the_limits_even_at_their_longest(template: str) -> None:
    paths.validate(template)
    rendered = paths.PathTemplate.parse(template).render(LONGEST)
    file_name = paths.file_name("2026-03-01", "n" * 200, 10**15, "pdf")
    paths.check_lengths(f"/srv/upload/{rendered}/.{file_name}.psr-d1000000000000000-i1-v9.part")


def test_a_rendered_name_or_path_too_long_for_servers_is_refused() -> None:
    with pytest.raises(InvalidInput, match="is 256 bytes; servers accept at most 255"):
        paths.check_lengths("in/" + "é" * 128)  # 256 bytes in UTF-8
    with pytest.raises(InvalidInput, match="is 1025 bytes, more than the 1024"):
        paths.check_lengths("/".join(["a" * 200] * 5) + "/" + "b" * 20)


def test_every_path_variable_has_a_longest_value() -> None:
    """validate() bounds a template by its variables' longest values: one without would
    fail every template that uses it."""
    assert set(paths.LONGEST_VALUE) == set(paths.VARIABLES)

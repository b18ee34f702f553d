"""The cloud folders' layout and names (Dropbox, Google Drive, OneDrive share them)."""

from __future__ import annotations

import pytest

from passeur.connectors import cloud_folder
from passeur.connectors.cloud_folder import DROPBOX, GOOGLE_DRIVE, ONEDRIVE, NameRules
from passeur.domain import paths
from passeur.domain.errors import InvalidInput
from passeur.domain.fields import clean_values

PROVIDERS = [DROPBOX, GOOGLE_DRIVE, ONEDRIVE]


def variables(
    invoice_type: str = "purchases",
    client_name: str = "John Doe Group",
    vat_number: str = "BE0403170701",
    number: str = "INV-7",
) -> dict[str, str]:
    return paths.document_variables(
        uen_number="0403170701",
        external_id="C042",
        client_name=client_name,
        invoice_type=invoice_type,
        document_number=number,
        year=2026,
        month=3,
        vat_number=vat_number,
    )


@pytest.mark.parametrize(
    ("family", "folder"),
    [("purchases", "AP"), ("sales", "AR"), ("cod", "Statements"), ("other", "Other")],
)
def test_each_family_has_its_folder_in_the_documented_layout(family: str, folder: str) -> None:
    got = cloud_folder.folders({}, variables(family), DROPBOX)
    assert got == ["Invoice_import", "John Doe Group_BE0403170701", folder]


def test_a_client_without_a_vat_number_is_named_by_its_enterprise_number() -> None:
    got = cloud_folder.folders({}, variables(vat_number=""), DROPBOX)
    assert got[1] == "John Doe Group_BE0403170701"


@pytest.mark.parametrize("rules", PROVIDERS, ids=lambda r: r.provider)
def test_a_company_name_with_a_slash_stays_one_folder(rules: NameRules) -> None:
    got = cloud_folder.folders({}, variables(client_name="A/B ../Consulting"), rules)
    assert got == ["Invoice_import", "A_B .._Consulting_BE0403170701", "AP"]


@pytest.mark.parametrize("rules", PROVIDERS, ids=lambda r: r.provider)
def test_a_number_with_slashes_and_pipes_is_one_file_in_the_right_folder(rules: NameRules) -> None:
    name = paths.file_name("2026-03-01", "2026/03|../../etc", 42, "xml")
    names = cloud_folder.path({}, variables(number="x"), name, rules)
    assert names[:3] == ["Invoice_import", "John Doe Group_BE0403170701", "AP"]
    assert len(names) == 4 and names[3].endswith("_d42.xml")
    assert "/" not in names[3] and "|" not in names[3] and names[3] not in (".", "..")


@pytest.mark.parametrize(
    ("raw", "dropbox", "onedrive"),
    [
        ('Fact<ure>:"x"|?*', "Fact_ure___x____", "Fact_ure___x____"),
        ("trailing dots...", "trailing dots", "trailing dots"),
        ("  spaces  ", "spaces", "spaces"),
        ("..", "_", "_"),
        ("CON.xml", "CON.xml", "_CON.xml"),
        ("50% #1", "50% #1", "50_ _1"),
        ("tab\there", "tab_here", "tab_here"),
    ],
)
def test_each_provider_gets_the_names_it_accepts(raw: str, dropbox: str, onedrive: str) -> None:
    assert DROPBOX.clean(raw) == dropbox
    assert ONEDRIVE.clean(raw) == onedrive


def test_google_drive_keeps_what_it_allows_but_never_a_slash() -> None:
    assert GOOGLE_DRIVE.clean('a:b|c/d"e') == 'a:b|c_d"e'


@pytest.mark.parametrize("rules", PROVIDERS, ids=lambda r: r.provider)
def test_a_long_name_is_cut_in_the_middle_never_in_its_id_or_extension(rules: NameRules) -> None:
    name = paths.file_name("2026-03-01", "N" * 119, 123456, "xml")
    long_name = name.replace("N", "NN")  # longer than any provider's limit once doubled
    short = cloud_folder.file_name("x" * 300 + "_d123456.xml", rules)
    assert len(short) == rules.max_name and short.endswith("_d123456.xml")
    assert cloud_folder.file_name(long_name, rules).endswith("_d123456.xml")


@pytest.mark.parametrize("rules", [DROPBOX, ONEDRIVE], ids=lambda r: r.provider)
def test_two_documents_never_share_a_name_even_where_case_is_ignored(rules: NameRules) -> None:
    first = cloud_folder.file_name(paths.file_name("2026-03-01", "inv-1", 1, "xml"), rules)
    second = cloud_folder.file_name(paths.file_name("2026-03-01", "INV-1", 2, "xml"), rules)
    assert rules.ignores_case and not rules.same(first, second)
    same_long = ["x" * 300 + f"_d{i}.xml" for i in (1, 2)]
    cut = [cloud_folder.file_name(n, rules) for n in same_long]
    assert not rules.same(*cut)


def test_root_folder_and_template_replace_the_layout() -> None:
    config = {"root_folder": "/Accounting/Imports/", "path_template": "[vat_number]/[year]"}
    got = cloud_folder.folders(config, variables(), DROPBOX)
    assert got == ["Accounting", "Imports", "BE0403170701", "2026"]
    with_root = cloud_folder.folders({"root_folder": "Accounting"}, variables("sales"), DROPBOX)
    assert with_root == ["Accounting", "Invoice_import", "John Doe Group_BE0403170701", "AR"]


@pytest.mark.parametrize("root", ["a/../b", "..", "a//b", "a\\b"])
def test_a_root_folder_that_could_climb_out_is_refused_and_nothing_saved(root: str) -> None:
    fields = cloud_folder.FIELDS
    with pytest.raises(InvalidInput):
        clean_values(fields, {"root_folder": root})


def test_a_template_that_could_climb_out_is_refused() -> None:
    with pytest.raises(InvalidInput):
        clean_values(cloud_folder.FIELDS, {"path_template": "../[year]"})


def test_a_path_longer_than_the_provider_takes_is_refused_clearly() -> None:
    config = {"root_folder": "/".join(["f" * 200] * 2)}
    with pytest.raises(InvalidInput, match="OneDrive takes at most 400"):
        cloud_folder.path(config, variables(), "2026-03-01_INV-7_d7.xml", ONEDRIVE)

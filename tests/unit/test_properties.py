"""Hostile input, fuzzed: properties that hold for any input, checked with hypothesis.

- Any bytes, and any corruption of a real UBL, CODA, CAMT or PDF sample, are either read or
  refused with InvalidInput, never another exception.
- A path template, whatever the values of its variables, renders below its root with no
  empty or dot segment, and with exactly the template's segments.
- `Retry-After` is either a number of seconds (finite, not negative) or nothing.
- An e-mail subject stays one line, whatever the client's name or document number.

The examples per property (the budget) come from PASSEUR_FUZZ_EXAMPLES (200 in
`make test`, derandomized so that a run is repeatable; raise it for a longer hunt, and
set PASSEUR_FUZZ_RANDOM=1 to draw new examples each run). No deadline: no wall clock.
"""

from __future__ import annotations

import math
import os
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from passeur.connectors import retry_after
from passeur.connectors.email import subject
from passeur.domain import paths
from passeur.domain.errors import InvalidInput
from passeur.formats.intake import read_document
from passeur.samples import shared_data

EXAMPLES = int(os.environ.get("PASSEUR_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("PASSEUR_FUZZ_RANDOM") != "1",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
DATA = shared_data()
SAMPLES = {
    "ubl": "ubl/peppol-base-example.xml",
    "efff": "efff/odoo-efff_test.xml",
    "coda": "coda/odoo-Ontvangen_CODA.2013-01-11-18.59.15.txt",
    "camt": "camt/oca-test-camt053.xml",
}


def sample(name: str) -> bytes:
    assert DATA is not None, "the sample documents (../shared/data) are needed"
    return (DATA / SAMPLES[name]).read_bytes()


def a_pdf() -> bytes:
    from passeur.formats.corpus import make_padded_pdf

    return make_padded_pdf(4096, seed=1)


def read_or_refused(data: bytes) -> None:
    """The property: a Reading, or InvalidInput; any other exception fails the test."""
    try:
        read_document(data, "file")
    except InvalidInput as refused:
        assert str(refused), "a refusal says why"


@st.composite
def corrupted(draw: st.DrawFn, original: bytes) -> bytes:
    """The original with a few edits: bytes changed, inserted, removed, or cut short."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 8))):
        edit = draw(st.sampled_from(["change", "insert", "delete", "cut"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if edit == "change" and data:
            data[at] = draw(st.integers(0, 255))
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif edit == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        else:
            del data[at:]
    return bytes(data)


@FUZZ
@given(st.binary(max_size=4096))
def test_any_bytes_are_read_or_refused(data: bytes) -> None:
    read_or_refused(data)


@FUZZ
@given(st.sampled_from(sorted(SAMPLES)).flatmap(lambda name: corrupted(sample(name))))
def test_a_corrupted_sample_is_read_or_refused(data: bytes) -> None:
    read_or_refused(data)


@FUZZ
@given(corrupted(a_pdf()))
def test_a_corrupted_pdf_is_read_or_refused(data: bytes) -> None:
    read_or_refused(data)


@FUZZ
@given(
    st.binary(max_size=64).map(lambda junk: b"<?xml version='1.0'?>" + junk),
    st.sampled_from([b"<Invoice", b"<CreditNote", b"<Document", b"<!DOCTYPE x ["]),
)
def test_xml_like_bytes_are_read_or_refused(head: bytes, tag: bytes) -> None:
    read_or_refused(head + tag + head)


TEMPLATES = [
    "/uploads/[invoice_type]/[year]/[month]",
    "/[client_name]_[uen_number]/[invoice_type]",
    "/export/[external_id]/[document_number]",
    "[client_name]/AP",
]
PIECES = [*string.printable, "..", "/", "\\", "\x00", "é", "\u202e", " .", ". "]
HOSTILE = st.lists(st.sampled_from(PIECES), min_size=1, max_size=30).map("".join)


@FUZZ
@given(st.sampled_from(TEMPLATES), st.dictionaries(st.sampled_from(list(paths.VARIABLES)), HOSTILE))
def test_a_rendered_path_never_leaves_its_root(template: str, values: dict[str, str]) -> None:
    filled = {name: values.get(name, "x") for name in paths.VARIABLES}
    try:
        rendered = paths.PathTemplate.parse(template).render(filled)
    except InvalidInput:
        return  # e.g. a value that is only dots: refused, nothing written
    segments = rendered.split("/")
    assert not rendered.startswith("/")
    assert all(s not in ("", ".", "..") for s in segments), rendered
    assert len(segments) == len(template.strip("/").split("/")), rendered
    joined = paths.join_under("/srv/root", rendered)
    assert joined.startswith("/srv/root/") and "/../" not in f"{joined}/"


@FUZZ
@given(st.one_of(st.none(), st.text(max_size=60)))
def test_retry_after_is_seconds_or_nothing(header: str | None) -> None:
    seconds = retry_after.parse(header)
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)


@FUZZ
@given(st.dictionaries(st.sampled_from(list(paths.VARIABLES)), st.text(max_size=300)))
def test_a_subject_stays_one_line(values: dict[str, str]) -> None:
    rendered = subject.render(subject.DEFAULT, values)
    assert rendered and len(rendered) <= subject.MAX_LENGTH
    assert not any(c in rendered for c in "\r\n\x00\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_uncorrupted_samples_are_read(name: str) -> None:
    """The corruption tests start from files that are read (not already refused)."""
    assert read_document(sample(name), "file").type in ("ubl", "efff", "coda", "camt")


def test_the_pdf_sample_is_read() -> None:
    assert read_document(a_pdf(), "file").type == "pdf"

"""Standard Webhooks signatures, checked against the specification's own test vector."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from passeur.connectors.http.signing import Signer, new_secret, parse_secrets, sign
from passeur.domain.errors import InvalidInput

# From the Standard Webhooks reference libraries' tests.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_reference_vector() -> None:
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE


def test_a_body_signed_in_chunks_signs_the_same() -> None:
    signer = Signer(parse_secrets(VECTOR_SECRET), VECTOR_ID, VECTOR_TIMESTAMP)
    for n in range(0, len(VECTOR_BODY), 3):
        signer.update(VECTOR_BODY[n : n + 3])
    assert signer.header() == VECTOR_SIGNATURE


def test_a_rotation_signs_with_every_secret() -> None:
    other = new_secret()
    header = sign(f"{other} {VECTOR_SECRET}", VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)
    first, second = header.split(" ")
    assert second == VECTOR_SIGNATURE
    key = base64.b64decode(other.removeprefix("whsec_"))
    content = f"{VECTOR_ID}.{VECTOR_TIMESTAMP}.".encode() + VECTOR_BODY
    assert (
        first == "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    )


def test_new_secrets_are_random_and_well_formed() -> None:
    made = {new_secret() for _ in range(5)}
    assert len(made) == 5
    assert all(len(parse_secrets(s)[0]) == 32 for s in made)


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("", "give a signing secret"),
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "starts with 'whsec_'"),
        ("whsec_not base64!", "is 2 bytes"),  # the space splits it: "whsec_not"
        ("whsec_" + "A" * 41, "not valid base64"),  # no padding makes 41 characters whole
        ("whsec_@@@@", "not valid base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "is 5 bytes"),
        ("whsec_" + base64.b64encode(b"x" * 65).decode(), "is 65 bytes"),
    ],
)
def test_malformed_secrets_are_refused_with_a_reason(secret: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        parse_secrets(secret)


def test_a_secret_without_its_base64_padding_is_accepted() -> None:
    padded = "whsec_" + base64.b64encode(b"k" * 32).decode()
    assert padded.endswith("=")
    assert parse_secrets(padded.rstrip("=")) == parse_secrets(padded) == (b"k" * 32,)

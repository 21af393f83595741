"""TOTP codes match RFC 6238's test vectors and the demo helpers."""

import base64

import pytest

from recruitment import totp

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("at", "code"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_codes_match_the_rfc_6238_sha1_test_vectors(at, code):
    assert totp.hotp(base64.b32decode(RFC_SECRET), totp.time_step(at), digits=8) == code


def test_six_digit_codes_are_the_last_six_digits_of_the_rfc_values():
    assert totp.totp_code(RFC_SECRET, at=59) == "287082"


def test_a_code_from_the_previous_or_next_step_is_accepted_for_clock_drift():
    at = 1_700_000_000
    for shift in (-30, 0, 30):
        assert totp.matching_step(RFC_SECRET, totp.totp_code(RFC_SECRET, at=at + shift), at=at) is not None
    assert totp.matching_step(RFC_SECRET, totp.totp_code(RFC_SECRET, at=at - 90), at=at) is None


def test_a_step_already_used_is_refused():
    at = 1_700_000_000
    code = totp.totp_code(RFC_SECRET, at=at)
    step = totp.matching_step(RFC_SECRET, code, at=at)
    assert step == totp.time_step(at)
    assert totp.matching_step(RFC_SECRET, code, at=at, after=step) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "²²²²²²", "١٢٣٤٥٦"])
def test_malformed_codes_are_refused(code):
    assert totp.matching_step(RFC_SECRET, code) is None


def test_new_secrets_are_160_bit_base32_and_differ():
    first, second = totp.new_secret(), totp.new_secret()
    assert first != second
    assert len(base64.b32decode(first)) == 20

"""The aes128gcm payload (webpush/ece.py): RFC 8291's worked example to the byte, the same
bytes as `http_ece` for the same key and salt, and readable by a receiver for any payload."""

from __future__ import annotations

import os

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st
from support.pushservice_rfc import b64u, b64u_decode

from anagen.webpush import ece

# RFC 8291 §5 "Push Message Encryption Example" (keys and salt from its Appendix A).
RFC_PLAINTEXT = b"When I grow up, I want to be a watermelon"
RFC_UA_PUBLIC = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
RFC_UA_PRIVATE = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
RFC_AUTH = "BTBZMqHH6r4Tts7J_aSIgg"
RFC_AS_PRIVATE = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
RFC_SALT = "DGv6ra1nlYgDCS1FRnbzlw"
RFC_BODY = (
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6"
    "TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
)


def private_key(text: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(b64u_decode(text), "big"), ec.SECP256R1())


def new_browser() -> tuple[ec.EllipticCurvePrivateKey, ece.Receiver]:
    """A browser's subscription keys: its private key, and the Receiver the sender makes."""
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return key, ece.Receiver.from_subscription(b64u(point), b64u(os.urandom(16)))


def read(body: bytes, browser: ec.EllipticCurvePrivateKey, receiver: ece.Receiver) -> bytes:
    """What the browser decrypts (http_ece, as the local push service does)."""
    return http_ece.decrypt(body, private_key=browser, auth_secret=receiver.auth, version="aes128gcm")


def test_empty_payload_is_one_readable_record():
    browser, receiver = new_browser()
    assert read(ece.encrypt(b"", receiver), browser, receiver) == b""


def test_rfc_8291_worked_example_to_the_byte():
    receiver = ece.Receiver.from_subscription(RFC_UA_PUBLIC, RFC_AUTH)
    body = ece.encrypt(
        RFC_PLAINTEXT, receiver, private_key=private_key(RFC_AS_PRIVATE), salt=b64u_decode(RFC_SALT)
    )
    assert b64u(body) == RFC_BODY
    # ...and the browser of the example reads it back
    assert read(body, private_key(RFC_UA_PRIVATE), receiver) == RFC_PLAINTEXT


@settings(max_examples=60, deadline=None)
@given(plaintext=st.binary(min_size=1, max_size=3993), salt=st.binary(min_size=16, max_size=16))
def test_same_bytes_as_http_ece_for_the_same_key_and_salt(plaintext, salt):
    """Any payload a push can carry (4096 bytes encrypted: 3993 of plaintext in one record).
    An empty one is never sent (payloads are JSON); http_ece writes it as no record at all."""
    browser, receiver = new_browser()
    sender_key = ec.generate_private_key(ec.SECP256R1())
    ours = ece.encrypt(plaintext, receiver, private_key=sender_key, salt=salt)
    library = http_ece.encrypt(
        plaintext,
        private_key=sender_key,
        dh=receiver.public_bytes,
        auth_secret=receiver.auth,
        salt=salt,
        version="aes128gcm",
    )
    assert ours == library
    assert len(ours) == 86 + len(plaintext) + 1 + 16  # header, one record (delimiter + tag)
    assert read(ours, browser, receiver) == plaintext


def test_a_fresh_key_and_salt_for_every_message():
    browser, receiver = new_browser()
    bodies = [ece.encrypt(b"{}", receiver) for _ in range(20)]
    assert len({b[:16] for b in bodies}) == 20  # salts
    assert len({b[21:86] for b in bodies}) == 20  # the sender's public keys
    for body in bodies:
        assert read(body, browser, receiver) == b"{}"


def test_subscription_keys_with_or_without_padding():
    padded_auth = RFC_AUTH + "=" * (-len(RFC_AUTH) % 4)
    assert ece.Receiver.from_subscription(RFC_UA_PUBLIC, padded_auth) == ece.Receiver.from_subscription(
        RFC_UA_PUBLIC, RFC_AUTH
    )


@pytest.mark.parametrize(
    ("p256dh", "auth", "key"),
    [
        ("AAAA", RFC_AUTH, "p256dh"),  # too short
        ("", RFC_AUTH, "p256dh"),
        (b64u(b"\x04" + bytes(64)), RFC_AUTH, "p256dh"),  # 65 bytes, not on the curve
        ("not base64!", RFC_AUTH, "p256dh"),
        # compressed
        (b64u(b64u_decode(RFC_UA_PUBLIC)[:33].replace(b"\x04", b"\x02", 1)), RFC_AUTH, "p256dh"),
        (RFC_UA_PUBLIC, "AAAA", "auth"),  # 3 bytes
        (RFC_UA_PUBLIC, b64u(bytes(32)), "auth"),
    ],
)
def test_bad_subscription_keys_are_refused(p256dh, auth, key):
    with pytest.raises(ece.InvalidKeys) as refused:
        ece.Receiver.from_subscription(p256dh, auth)
    assert refused.value.key == key

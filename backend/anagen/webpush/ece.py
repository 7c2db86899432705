"""The Web Push payload: `aes128gcm` (RFC 8188) keyed as RFC 8291 says, one record.

Written here on `cryptography`'s primitives, not taken from a library, because the
libraries are general and the general parts cost more than the cryptography on the
dispatcher's hot path. pywebpush's `WebPusher.encode` and `http_ece.encrypt` (which it
calls) support three content codings and any record size, and per message serialise the
same public keys four times and build three HKDF objects; a Web Push message is always
one aes128gcm record under 4 KB, which is five HMAC-SHA-256 calls and one AES-GCM call
after the key agreement. Measured per message on one core (docs/BENCHMARKS.md,
"Reminder dispatch"): `WebPusher.encode` ~135 µs, `http_ece.encrypt` ~112 µs, this ~84 µs,
of which the key agreement itself (a fresh P-256 key pair and ECDH) is ~60 µs; the
dispatch targets need the difference. It is checked byte for byte against `http_ece`
with the same key and salt (tests/webpush/test_ece.py), and every message the local
push service receives in the tests is decrypted with `http_ece`.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid.utils import b64urldecode

RECORD_SIZE = 4096  # the rs field: one record holds any Web Push message (max 4096 bytes)
_CURVE = ec.SECP256R1()
_ECDH = ec.ECDH()
_HEADER_RS = RECORD_SIZE.to_bytes(4, "big") + bytes([65])  # rs, then idlen: the 65-byte key id
_KEY_INFO = b"WebPush: info\x00"
_CEK_INFO = b"Content-Encoding: aes128gcm\x00\x01"  # HKDF-Expand to <= 32 bytes is one HMAC: T(1)
_NONCE_INFO = b"Content-Encoding: nonce\x00\x01"
_LAST_RECORD = b"\x02"  # RFC 8188: the padding delimiter of the last record, no padding


class InvalidKeys(ValueError):
    """The subscription's p256dh is not a P-256 point, or its auth secret is not 16 bytes;
    `key` says which ("p256dh" or "auth")."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True, slots=True)
class Receiver:
    """A subscription's keys, decoded and checked once: `public_key` (the browser's P-256
    key), `public_bytes` (its 65-byte uncompressed form) and `auth` (16 bytes)."""

    public_key: ec.EllipticCurvePublicKey
    public_bytes: bytes
    auth: bytes

    @classmethod
    def from_subscription(cls, p256dh: str, auth: str) -> Receiver:
        """From the base64url strings of a PushSubscription's `keys` (padding optional)."""
        try:
            point, secret = b64urldecode(p256dh.encode()), b64urldecode(auth.encode())
            public_key = ec.EllipticCurvePublicKey.from_encoded_point(_CURVE, point)
        except (ValueError, TypeError):  # binascii.Error is a ValueError
            raise InvalidKeys("p256dh", "p256dh is not a P-256 public key") from None
        if len(point) != 65:  # a compressed point is valid P-256 but not what RFC 8291 sends
            raise InvalidKeys("p256dh", "p256dh is not an uncompressed P-256 point")
        if len(secret) != 16:
            raise InvalidKeys("auth", "auth is not a 16-byte secret")
        return cls(public_key, point, secret)


def encrypt(
    plaintext: bytes,
    receiver: Receiver,
    *,
    private_key: ec.EllipticCurvePrivateKey | None = None,
    salt: bytes | None = None,
) -> bytes:
    """The aes128gcm body for `receiver`: salt, rs, idlen, the sender's public key, one record.

    A fresh key pair and salt per message (RFC 8291 §3.1, §3.4); `private_key` and `salt`
    are only for tests that compare with a fixed key and salt."""
    if private_key is None:
        private_key = ec.generate_private_key(_CURVE)
    if salt is None:
        salt = os.urandom(16)
    sender_public = private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    shared = private_key.exchange(_ECDH, receiver.public_key)
    # RFC 8291 §3.3: PRK_key = HMAC(auth, ecdh); IKM = HMAC(PRK_key, key_info || 0x01).
    prk_key = hmac.digest(receiver.auth, shared, "sha256")
    ikm = hmac.digest(prk_key, _KEY_INFO + receiver.public_bytes + sender_public + b"\x01", "sha256")
    # RFC 8188 §2.2-2.3: PRK = HMAC(salt, IKM); CEK and NONCE are the first 16 and 12 bytes.
    prk = hmac.digest(salt, ikm, "sha256")
    cek = hmac.digest(prk, _CEK_INFO, "sha256")[:16]
    nonce = hmac.digest(prk, _NONCE_INFO, "sha256")[:12]  # record 0: the nonce as is
    record = AESGCM(cek).encrypt(nonce, plaintext + _LAST_RECORD, None)
    return salt + _HEADER_RS + sender_public + record

"""What the local push service checks, as real ones do (RFC 8030, 8291, 8292)."""

from __future__ import annotations

import base64
import binascii
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

MAX_BODY = 4096
MAX_EXP_AHEAD_S = 24 * 3600


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(status, reason)
        self.status = status
        self.reason = reason


def check_request(
    method: str, known: bool, headers: dict[str, str], body: bytes, origin: str, now: float, tokens: dict
) -> None:
    """Raise `Rejected(status, reason)` when a push request breaks RFC 8030/8291/8292.
    `tokens` caches verified (token, key) -> claims: the signature is checked once."""
    if method != "POST":
        raise Rejected(405, "method not allowed")
    if not known:
        raise Rejected(404, "unknown subscription")
    check_vapid(headers.get("authorization", ""), origin, now, tokens)
    if not headers.get("ttl", "").isdigit():
        raise Rejected(400, "missing or invalid TTL header")
    if headers.get("content-encoding", "").lower() != "aes128gcm":
        raise Rejected(400, "Content-Encoding must be aes128gcm")
    if len(body) > MAX_BODY:
        raise Rejected(413, "payload too large")
    topic = headers.get("topic")
    if topic is not None and (len(topic) > 32 or not _is_b64u(topic)):
        raise Rejected(400, "invalid Topic header")


def check_vapid(auth: str, origin: str, now: float, tokens: dict) -> None:
    scheme, _, params = auth.partition(" ")
    if scheme.lower() != "vapid":
        raise Rejected(401, "missing or non-vapid Authorization")
    parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
    token, key = parts.get("t", ""), parts.get("k", "")
    claims = tokens.get((token, key))
    if claims is None:
        claims = verify_jwt(token, key)
        tokens[(token, key)] = claims
    if claims.get("aud") != origin:
        raise Rejected(403, f"aud {claims.get('aud')!r} is not this push service")
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= now:
        raise Rejected(403, "JWT expired or without exp")
    if exp > now + MAX_EXP_AHEAD_S:
        raise Rejected(403, "JWT exp more than 24 h ahead")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.startswith(("mailto:", "https:")):
        raise Rejected(403, "sub must be a mailto: or https: URL")


def _is_b64u(text: str) -> bool:
    return all(c.isascii() and (c.isalnum() or c in "-_") for c in text)


def verify_jwt(token: str, key: str) -> dict:
    """Verify an ES256 JWT with the raw uncompressed P-256 key `key`; return its claims."""
    try:
        header_b64, claims_b64, sig_b64 = token.split(".")
        header = json.loads(b64u_decode(header_b64))
        claims = json.loads(b64u_decode(claims_b64))
        sig = b64u_decode(sig_b64)
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64u_decode(key))
    except (ValueError, binascii.Error, TypeError) as exc:
        raise Rejected(401, f"malformed VAPID token or key ({type(exc).__name__})") from None
    if header.get("alg") != "ES256" or len(sig) != 64 or not isinstance(claims, dict):
        raise Rejected(401, "VAPID token is not ES256")
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        public.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Rejected(401, "bad VAPID signature") from None
    return claims

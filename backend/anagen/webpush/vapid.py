"""VAPID (RFC 8292) keys and the per-push-service `Authorization` header.

Keys: one P-256 key pair per deployment. `load_or_create()` reads `vapid_private.pem` from the
instance folder or creates it (mode 0600 from the first byte); a key given in the environment
(PEM, or the raw base64url private scalar / base64url DER that pywebpush accepts) wins.
Rotating the key invalidates every existing subscription (push services bind a subscription
to its applicationServerKey): clients must subscribe again with the new public key.

Header: `VapidHeaderCache` signs the ES256 JWT with `cryptography` directly rather than
through py_vapid's `Vapid02.sign`: that method deep-copies claims, re-encodes the public key
and accepts `localhost` subjects on every call, while here the claims are a fresh dict per
origin (never a shared dict that gets mutated, pywebpush issues #79/#130), the subject has
been validated once, and the result is cached per origin for most of its 12 h lifetime.
The JWT layout (compact JSON, sorted claims, raw r||s signature) matches py_vapid's, which
the tests use to verify our headers independently.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

log = logging.getLogger(__name__)

KEY_FILE = "vapid_private.pem"
JWT_LIFETIME_S = 12 * 3600
REFRESH_BEFORE_S = 3600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str | bytes) -> bytes:
    if isinstance(text, str):
        text = text.encode("ascii")
    text = text.strip().replace(b"+", b"-").replace(b"/", b"_").rstrip(b"=")
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


@dataclass(frozen=True)
class VapidKeys:
    """The deployment's VAPID key pair.

    `public_key` is the base64url uncompressed point the browser needs as
    `applicationServerKey` in `pushManager.subscribe()`.
    """

    private_key_pem: bytes = field(repr=False)
    public_key: str

    @classmethod
    def from_private_key(cls, key: ec.EllipticCurvePrivateKey) -> VapidKeys:
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("a VAPID key must be an EC P-256 (secp256r1) private key")
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        keys = cls(private_key_pem=pem, public_key=b64url(public))
        object.__setattr__(keys, "_key", key)
        return keys

    @classmethod
    def from_string(cls, text: str | bytes) -> VapidKeys:
        """PEM, or base64url of the raw 32-byte private scalar or of the DER key."""
        raw = text.encode("ascii") if isinstance(text, str) else text
        try:
            if b"-----BEGIN" in raw:
                key = serialization.load_pem_private_key(raw.strip(), password=None)
            else:
                data = b64url_decode(b"".join(raw.split()))
                if len(data) == 32:
                    key = ec.derive_private_key(int.from_bytes(data, "big"), ec.SECP256R1())
                else:
                    key = serialization.load_der_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"unreadable VAPID private key ({type(exc).__name__})") from None
        return cls.from_private_key(key)

    @property
    def private_key(self) -> ec.EllipticCurvePrivateKey:
        key = self.__dict__.get("_key")
        if key is None:
            key = serialization.load_pem_private_key(self.private_key_pem, password=None)
            object.__setattr__(self, "_key", key)
        return key

    def __getstate__(self) -> dict:  # the cached key object does not pickle
        return {"private_key_pem": self.private_key_pem, "public_key": self.public_key}

    def __setstate__(self, state: dict) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)

    @property
    def public_key_bytes(self) -> bytes:
        return b64url_decode(self.public_key)


def generate_keys() -> VapidKeys:
    return VapidKeys.from_private_key(ec.generate_private_key(ec.SECP256R1()))


def _write_new_private(path: Path, data: bytes) -> None:
    """Create `path` with mode 0600 from the start; fail if it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def load_or_create(instance_dir: Path, env_private_key: str | None = None) -> VapidKeys:
    """The key from the environment, else `instance_dir/vapid_private.pem` (created if absent).

    Creation writes a temporary 0600 file and hard-links it into place, so a concurrent
    starter never reads a half-written key and two starters agree on one key.
    """
    if env_private_key and env_private_key.strip():
        return VapidKeys.from_string(env_private_key)
    instance_dir = Path(instance_dir)
    instance_dir.mkdir(parents=True, exist_ok=True)
    path = instance_dir / KEY_FILE
    if not path.exists():
        keys = generate_keys()
        tmp = instance_dir / f".{KEY_FILE}.{secrets.token_hex(8)}.tmp"
        _write_new_private(tmp, keys.private_key_pem)
        try:
            os.link(tmp, path)
            log.info("created a new VAPID key in the instance folder")
            return keys
        except FileExistsError:
            pass  # another process won the race: use its key
        finally:
            tmp.unlink(missing_ok=True)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning("VAPID key file was readable by others (mode %o); setting 0600", mode)
        os.chmod(path, 0o600)
    return VapidKeys.from_string(path.read_bytes())


def rotate(instance_dir: Path) -> VapidKeys:
    """Write a new key atomically; keep the old one as `vapid_private.pem.<UTC time>.bak`."""
    instance_dir = Path(instance_dir)
    instance_dir.mkdir(parents=True, exist_ok=True)
    path = instance_dir / KEY_FILE
    keys = generate_keys()
    tmp = instance_dir / f".{KEY_FILE}.{secrets.token_hex(8)}.tmp"
    _write_new_private(tmp, keys.private_key_pem)
    try:
        if path.exists():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            backup = instance_dir / f"{KEY_FILE}.{stamp}.bak"
            _write_new_private(backup, path.read_bytes())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    log.warning("VAPID key rotated: existing push subscriptions must be renewed")
    return keys


_MAILTO = re.compile(r"^mailto:([^@\s/?#]+)@([^@\s/?#]+)$", re.IGNORECASE)


def _refuse_local_host(host: str, sub: str) -> None:
    host = host.strip("[]").rstrip(".").lower()
    if not host:
        raise ValueError(f"VAPID subject {sub!r} has no host")
    if host == "localhost" or host.endswith((".localhost", ".local", ".localdomain")):
        raise ValueError(
            f"VAPID subject {sub!r} names a local host: push services (Apple's among them) "
            "reject localhost subjects; use a real contact address or https URL"
        )
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None and (ip.is_loopback or ip.is_unspecified):
        raise ValueError(
            f"VAPID subject {sub!r} names a loopback address: push services (Apple's among them) "
            "reject localhost subjects"
        )
    if "." not in host and ":" not in host:
        raise ValueError(f"VAPID subject {sub!r} needs a fully qualified host name")


def validate_subject(sub: str) -> str:
    """Return the subject if it is a usable `mailto:` address or `https:` URL."""
    sub = (sub or "").strip()
    if sub.lower().startswith("mailto:"):
        m = _MAILTO.match(sub)
        if not m:
            raise ValueError(f"VAPID subject {sub!r} is not a mailto: with an address")
        _refuse_local_host(m.group(2), sub)
        return sub
    if sub.lower().startswith("https:"):
        parts = urlsplit(sub)
        if not parts.netloc or parts.username or parts.password:
            raise ValueError(f"VAPID subject {sub!r} is not an https URL with a host")
        _refuse_local_host(parts.hostname or "", sub)
        return sub
    raise ValueError(f"VAPID subject {sub!r} must be a mailto: address or an https: URL (RFC 8292 §2.1)")


_ORIGIN = re.compile(r"^https?://[^/:@\s]+(:\d{1,5})?$", re.IGNORECASE)


def origin_of(endpoint: str) -> str:
    """`scheme://host[:port]` of a push endpoint (the JWT audience)."""
    parts = urlsplit(endpoint)
    origin = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
    if not _ORIGIN.match(origin):
        raise ValueError("push endpoint is not an http(s) URL with a host")
    return origin


def sign_jwt(claims: dict, key: ec.EllipticCurvePrivateKey) -> str:
    """Compact ES256 JWT (RFC 7515/7518): sorted compact JSON claims, raw r||s signature."""
    header = b64url(b'{"typ":"JWT","alg":"ES256"}')
    body = b64url(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    signing_input = f"{header}.{body}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


class VapidHeaderCache:
    """`Authorization: vapid t=<jwt>, k=<public key>` per push-service origin.

    The JWT has `aud` = origin, `exp` = now + 12 h and `sub` = the subject; it is reused
    until less than an hour of validity is left. Thread-safe: reads are lock-free, signing
    happens under a lock (once per origin and refresh).
    """

    def __init__(
        self,
        keys: VapidKeys,
        subject: str,
        *,
        lifetime_s: int = JWT_LIFETIME_S,
        refresh_before_s: int = REFRESH_BEFORE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if refresh_before_s >= lifetime_s:
            raise ValueError("refresh_before_s must be shorter than lifetime_s")
        self.keys = keys
        self.subject = validate_subject(subject)
        self.lifetime_s = lifetime_s
        self.refresh_before_s = refresh_before_s
        self.clock = clock
        self._cache: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def header(self, origin: str) -> str:
        now = self.clock()
        entry = self._cache.get(origin)
        if entry is not None and entry[1] - now > self.refresh_before_s:
            return entry[0]
        with self._lock:
            entry = self._cache.get(origin)
            if entry is not None and entry[1] - now > self.refresh_before_s:
                return entry[0]
            if not _ORIGIN.match(origin):
                raise ValueError("VAPID audience must be scheme://host[:port]")
            exp = int(now) + self.lifetime_s
            claims = {"aud": origin, "exp": exp, "sub": self.subject}  # fresh dict per origin
            value = f"vapid t={sign_jwt(claims, self.keys.private_key)}, k={self.keys.public_key}"
            self._cache[origin] = (value, float(exp))
            return value

    def header_for_endpoint(self, endpoint: str) -> str:
        return self.header(origin_of(endpoint))

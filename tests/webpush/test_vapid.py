"""VAPID keys on disk, subject validation and the per-origin header cache."""

from __future__ import annotations

import base64
import json
import stat
import threading

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from py_vapid import Vapid02
from py_vapid.utils import b64urlencode

from anagen.webpush.vapid import (
    KEY_FILE,
    VapidHeaderCache,
    VapidKeys,
    generate_keys,
    load_or_create,
    rotate,
    validate_subject,
)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _parse(header: str) -> tuple[str, str]:
    scheme, _, params = header.partition(" ")
    assert scheme == "vapid"
    parts = dict(p.strip().split("=", 1) for p in params.split(","))
    return parts["t"], parts["k"]


def _verified_claims(header: str) -> dict:
    """Check the ES256 signature with `cryptography` and return the claims."""
    token, key = _parse(header)
    head_b64, claims_b64, sig_b64 = token.split(".")
    assert json.loads(_b64d(head_b64)) == {"typ": "JWT", "alg": "ES256"}
    sig = _b64d(sig_b64)
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _b64d(key))
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    public.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    return json.loads(_b64d(claims_b64))


# -- keys ---------------------------------------------------------------------------------
def test_key_file_is_created_0600_and_reloaded(tmp_path):
    instance = tmp_path / "instance"
    keys = load_or_create(instance)
    path = instance / KEY_FILE
    assert path.exists()
    assert _mode(path) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    again = load_or_create(instance)
    assert again.public_key == keys.public_key
    assert again.private_key_pem == keys.private_key_pem
    assert len(_b64d(keys.public_key)) == 65 and _b64d(keys.public_key)[0] == 4
    assert not [p.name for p in instance.iterdir() if p.name != KEY_FILE]  # no temp left


def test_key_file_is_never_world_readable_even_with_a_lax_umask(tmp_path, monkeypatch):
    import os

    old = os.umask(0)
    try:
        load_or_create(tmp_path)
    finally:
        os.umask(old)
    assert _mode(tmp_path / KEY_FILE) == 0o600


def test_a_lax_existing_key_file_is_tightened(tmp_path):
    keys = load_or_create(tmp_path)
    (tmp_path / KEY_FILE).chmod(0o644)
    assert load_or_create(tmp_path).public_key == keys.public_key
    assert _mode(tmp_path / KEY_FILE) == 0o600


def test_environment_key_wins_pem_or_raw_scalar(tmp_path):
    on_disk = load_or_create(tmp_path)
    env = generate_keys()
    from_pem = load_or_create(tmp_path, env.private_key_pem.decode())
    assert from_pem.public_key == env.public_key != on_disk.public_key

    scalar = env.private_key.private_numbers().private_value.to_bytes(32, "big")
    raw = base64.urlsafe_b64encode(scalar).rstrip(b"=").decode()
    assert load_or_create(tmp_path, raw).public_key == env.public_key
    # the same string pywebpush/py_vapid accept gives the same key there
    vv = Vapid02.from_string(raw)
    assert b64urlencode(vv.public_key.public_bytes(*_x962())) == env.public_key
    der = env.private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert load_or_create(tmp_path, base64.urlsafe_b64encode(der).decode()).public_key == env.public_key
    # blank means "not set"
    assert load_or_create(tmp_path, "  ").public_key == on_disk.public_key


def _x962():
    return serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint


def test_keys_pickle_and_hide_the_private_key_in_repr():
    import pickle

    keys = generate_keys()
    keys.private_key  # noqa: B018  (caches the parsed key)
    again = pickle.loads(pickle.dumps(keys))  # noqa: S301  (our own object)
    assert again == keys and again.private_key.private_numbers() == keys.private_key.private_numbers()
    assert "PRIVATE" not in repr(keys)


def test_unreadable_or_wrong_curve_key_is_refused():
    with pytest.raises(ValueError, match="unreadable"):
        VapidKeys.from_string("not a key")
    with pytest.raises(ValueError, match="P-256"):
        VapidKeys.from_private_key(ec.generate_private_key(ec.SECP384R1()))


def test_concurrent_first_starts_agree_on_one_key(tmp_path):
    results: list[str] = []
    barrier = threading.Barrier(8)

    def start():
        barrier.wait()
        results.append(load_or_create(tmp_path).public_key)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1
    assert load_or_create(tmp_path).public_key == results[0]


def test_rotate_writes_a_new_key_and_keeps_the_old_one_0600(tmp_path):
    old = load_or_create(tmp_path)
    new = rotate(tmp_path)
    assert new.public_key != old.public_key
    assert load_or_create(tmp_path).public_key == new.public_key
    assert _mode(tmp_path / KEY_FILE) == 0o600
    backups = list(tmp_path.glob(f"{KEY_FILE}.*.bak"))
    assert len(backups) == 1
    assert _mode(backups[0]) == 0o600
    assert VapidKeys.from_string(backups[0].read_bytes()).public_key == old.public_key


# -- subject ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "sub", ["mailto:ops@clinic.example", "https://clinic.example", "https://clinic.example/contact"]
)
def test_subject_accepted(sub):
    assert validate_subject(sub) == sub


@pytest.mark.parametrize(
    ("sub", "why"),
    [
        ("mailto:ops@localhost", "local"),
        ("https://localhost", "local"),
        ("https://localhost:8443", "local"),
        ("https://127.0.0.1", "loopback"),
        ("mailto:admin@127.0.0.1", "loopback"),
        ("https://[::1]", "loopback"),
        ("mailto:me@printer.local", "local"),
        ("http://clinic.example", "mailto: address or an https: URL"),
        ("garbage", "mailto: address or an https: URL"),
        ("", "mailto: address or an https: URL"),
        ("mailto:", "not a mailto: with an address"),
        ("mailto:nobody", "not a mailto: with an address"),
        ("https://", "https URL with a host"),
    ],
)
def test_subject_refused_with_a_reason(sub, why):
    with pytest.raises(ValueError, match=why):
        validate_subject(sub)


def test_localhost_refusal_explains_apple():
    with pytest.raises(ValueError, match="Apple"):
        validate_subject("mailto:dev@localhost")


# -- header cache -------------------------------------------------------------------------
class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def keys() -> VapidKeys:
    return generate_keys()


def test_header_claims_and_signature(keys):
    clock = Clock()
    cache = VapidHeaderCache(keys, "mailto:ops@clinic.example", clock=clock)
    header = cache.header("https://fcm.googleapis.com")
    assert header.startswith("vapid t=")
    claims = _verified_claims(header)
    assert claims == {
        "aud": "https://fcm.googleapis.com",
        "exp": int(clock.now) + 12 * 3600,
        "sub": "mailto:ops@clinic.example",
    }
    assert _parse(header)[1] == keys.public_key
    # py_vapid's own verifier agrees
    assert Vapid02.verify(header)


@pytest.mark.parametrize("sub", ["https://clinic.example/contact", "https://clinic.example:8443"])
def test_https_subjects_with_a_path_or_port_are_signed(keys, sub):
    """py-vapid's strict subject check would refuse these; ours accepts them."""
    claims = _verified_claims(VapidHeaderCache(keys, sub).header("https://fcm.googleapis.com"))
    assert claims["sub"] == sub


def test_same_origin_is_cached_and_origins_differ(keys):
    clock = Clock()
    cache = VapidHeaderCache(keys, "https://clinic.example", clock=clock)
    a1 = cache.header("https://fcm.googleapis.com")
    clock.now += 3600
    a2 = cache.header("https://fcm.googleapis.com")
    b = cache.header("https://updates.push.services.mozilla.com")
    assert a1 == a2
    assert b != a1
    assert _verified_claims(b)["aud"] == "https://updates.push.services.mozilla.com"
    assert _verified_claims(a1)["aud"] == "https://fcm.googleapis.com"  # no leak across origins


def test_header_is_refreshed_when_less_than_an_hour_is_left(keys):
    clock = Clock()
    cache = VapidHeaderCache(keys, "mailto:ops@clinic.example", clock=clock)
    first = cache.header("https://web.push.apple.com")
    clock.now += 11 * 3600 - 1  # 1 h + 1 s left: still served from the cache
    assert cache.header("https://web.push.apple.com") == first
    clock.now += 2  # under an hour left
    fresh = cache.header("https://web.push.apple.com")
    assert fresh != first
    assert _verified_claims(fresh)["exp"] == int(clock.now) + 12 * 3600


def test_header_cache_signs_once_per_origin_under_concurrency(keys, monkeypatch):
    calls = []
    cache = VapidHeaderCache(keys, "mailto:ops@clinic.example")
    real = cache.signer.sign
    monkeypatch.setattr(cache.signer, "sign", lambda claims: calls.append(claims) or real(claims))
    barrier = threading.Barrier(16)
    seen = set()

    def get():
        barrier.wait()
        seen.add(cache.header("https://fcm.googleapis.com"))

    threads = [threading.Thread(target=get) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(seen) == 1


def test_header_cache_refuses_bad_subject_and_audience(keys):
    with pytest.raises(ValueError):
        VapidHeaderCache(keys, "mailto:dev@localhost")
    cache = VapidHeaderCache(keys, "mailto:ops@clinic.example")
    with pytest.raises(ValueError):
        cache.header("https://fcm.googleapis.com/fcm/send/abc")  # a path is not an origin

"""Password hashing with Argon2id (argon2-cffi's tuned defaults)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from anagen.errors import InvalidInput

_hasher = PasswordHasher()
MIN_LENGTH = 10
MAX_LENGTH = 256

# Verifying against this when the account does not exist keeps "unknown account" and
# "wrong password" equally slow, so timing does not reveal which emails are registered.
_DUMMY_HASH = _hasher.hash("not-a-real-password-used-for-timing")


def check_password_rules(password: str, field: str = "password") -> None:
    """Refuse passwords too short or too long to be safe, in plain words."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise InvalidInput("Choose a longer password.", {field: f"Use at least {MIN_LENGTH} characters."})
    if len(password) > MAX_LENGTH:
        raise InvalidInput("That password is too long.", {field: f"Use at most {MAX_LENGTH} characters."})


def hash_password(password: str) -> str:
    check_password_rules(password)
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when the password matches; spends the same time when there is no account."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)

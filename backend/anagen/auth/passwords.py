"""Password hashing with Argon2id (argon2-cffi's tuned defaults), and the rules for new passwords."""

from __future__ import annotations

from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from anagen.errors import InvalidInput

_hasher = PasswordHasher()
MIN_LENGTH = 10
MAX_LENGTH = 256
# zxcvbn's score: 0-2 fall to an online or a fast offline attack; 3 needs about 10^8 guesses.
MIN_SCORE = 3
# zxcvbn's time grows steeply with length (over a second for 256 repeated characters), so only
# the start is scored: a password whose first 72 characters are hard to guess is hard to guess.
_SCORED_LENGTH = 72

# Verifying against this when the account does not exist keeps "unknown account" and
# "wrong password" equally slow, so timing does not reveal which emails are registered.
_DUMMY_HASH = _hasher.hash("not-a-real-password-used-for-timing")


def _weakness(password: str, user_inputs: Iterable[str]) -> str | None:
    """Why zxcvbn finds the password easy to guess, or None (its common-password lists ship in its wheel)."""
    scored = password[:_SCORED_LENGTH]
    result = zxcvbn(scored, user_inputs=[str(i) for i in user_inputs if i])
    common = any(
        match.get("dictionary_name") == "passwords" and match["i"] == 0 and match["j"] == len(scored) - 1
        for match in result["sequence"]
    )
    if result["score"] >= MIN_SCORE and not common:
        return None
    warning = result["feedback"]["warning"] or (
        "This is a commonly used password." if common else "This is easy to guess."
    )
    return f"Too easy to guess. {warning} Add another word or two; uncommon words are better."


def check_password_rules(password: str, field: str = "password", user_inputs: Iterable[str] = ()) -> None:
    """Refuse new passwords too short, too long or too easy to guess, in plain words naming the field.

    `user_inputs` (the account's email and name) count as easy to guess too.
    """
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise InvalidInput("Choose a longer password.", {field: f"Use at least {MIN_LENGTH} characters."})
    if len(password) > MAX_LENGTH:
        raise InvalidInput("That password is too long.", {field: f"Use at most {MAX_LENGTH} characters."})
    weakness = _weakness(password, user_inputs)
    if weakness:
        raise InvalidInput(
            "Choose a password that is harder to guess.", {field: weakness}, code="weak_password"
        )


def hash_password(password: str, user_inputs: Iterable[str] = ()) -> str:
    """The Argon2id hash of a new password, after checking it against the rules."""
    check_password_rules(password, user_inputs=user_inputs)
    return hash_checked(password)


def hash_checked(password: str) -> str:
    """The hash of a password already checked by `check_password_rules`, or already in use (a rehash)."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when the password matches; spends the same time when there is no account."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)

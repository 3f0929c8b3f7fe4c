"""Password hashing with argon2 (argon2-cffi's recommended parameters), and what a new password must be.

Argon2 is CPU-bound by design (about a quarter of a second of one core here). It runs in its own small pool
of low-priority threads, never on the event loop and never while the caller holds a transaction or a pooled
connection: a flood of sign-ins then queues for that pool and leaves the CPU to the requests that do real work.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash("no such account: constant-time placeholder")
# Niceness of the hashing threads: the scheduler serves the event loop first, so a flood of sign-ins slows
# sign-ins, not the requests that share the machine with it.
HASH_NICENESS = 10


def _lower_priority() -> None:
    try:
        # Linux schedules threads one by one: this lowers the calling thread only.
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICENESS)
    except (AttributeError, OSError):
        pass  # elsewhere it hashes at normal priority


# Half the cores (at least one) hash; argon2-cffi releases the GIL while it works.
_pool = ThreadPoolExecutor(
    max_workers=max(1, (os.cpu_count() or 2) // 2), thread_name_prefix="argon2", initializer=_lower_priority
)

MIN_LENGTH = 10
MAX_LENGTH = 128
# zxcvbn's score, 0 to 4: 3 is "safely unguessable: moderate protection from offline slow-hash scenario".
MIN_SCORE = 3
# A name part shorter than this is refused only as a whole word of the password, not inside another word;
# initials (one or two letters) not at all.
_SHORT_NAME = 4
_INITIALS = 2


def hash_password(password: str) -> str:
    """Synchronous: for the CLI and the demo data, which have no event loop to keep free."""
    return _hasher.hash(password)


async def hash_password_off_loop(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_pool, _hasher.hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Never call it inside a transaction: the wait for the hashing pool would hold the connection."""
    return await asyncio.get_running_loop().run_in_executor(_pool, _verify, password_hash, password)


def temporary_password() -> str:
    """A first password for an account created by someone else, shown once to its creator."""
    return secrets.token_urlsafe(12)


def _folded(text: str) -> str:
    """Lower case without accents: « Hélène » and « helene » are the same name to a guesser."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _words(text: str) -> list[str]:
    return "".join(c if c.isalnum() else " " for c in text).split()


# Why a password is refused: the reason of the payload error (graph/errors.py, Reason) and its message's values.
Weakness = tuple[str, dict[str, Any]]


def password_weakness(password: str, *, email: str, first_name: str, last_name: str) -> Weakness | None:
    """Why `password` may not become this account's password, or None when it may."""
    if len(password) < MIN_LENGTH:
        return "PASSWORD_TOO_SHORT", {"min": MIN_LENGTH}
    if len(password) > MAX_LENGTH:
        return "PASSWORD_TOO_LONG", {"max": MAX_LENGTH}
    folded, words = _folded(password), _words(_folded(password))
    local_part = _folded(email).partition("@")[0]
    own = [_folded(email), local_part, *_words(local_part), *_words(_folded(first_name)), *_words(_folded(last_name))]
    for part in own:
        if len(part) >= _SHORT_NAME and part in folded or len(part) > _INITIALS and part in words:
            return "PASSWORD_PERSONAL", {}
    result = zxcvbn(password, user_inputs=[email, local_part, first_name, last_name], max_length=MAX_LENGTH)
    if result["score"] < MIN_SCORE:
        advice = " ".join(filter(None, [result["feedback"].get("warning"), *result["feedback"].get("suggestions", [])]))
        # zxcvbn's advice is in English: the English message adds it, the French one does without.
        return "PASSWORD_TOO_EASY", {"advice": f" {advice}" if advice else ""}
    return None


async def check_new_password(password: str, *, email: str, first_name: str, last_name: str) -> Weakness | None:
    """password_weakness off the event loop: zxcvbn takes milliseconds, more on long inputs."""
    return await asyncio.to_thread(password_weakness, password, email=email, first_name=first_name, last_name=last_name)

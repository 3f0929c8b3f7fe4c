"""Sign-in throttle, per account and per client address, in the database: every server process shares it.

- An account (the email as typed, whether an account has it or not, so that a lock tells nothing about
  existence) waits after `account_failures` failures in a row: `account_first_wait` seconds, doubling at each
  further failure up to `account_longest_wait`. A success forgets its failures; so does an hour without attempts.
- An address gets at most `address_failures` failures in any `address_window` seconds.

An attempt is counted as a failure before its password is checked, in the same short transaction that reads
the state, and taken back when it succeeds: concurrent attempts cannot slip past the limit while the first ones
hash. That transaction is the throttle's own, committed before the hashing starts. A refused attempt only
reads: a flood that the throttle already stops costs one indexed read per request.

The client address is the socket's peer; `X-Forwarded-For` is believed only when that peer is one of the
trusted proxies (PFMP_TRUSTED_PROXIES), walking it from the right past the trusted hops.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import math
from dataclasses import dataclass, replace
from typing import cast

from starlette.requests import Request
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from graph.settings import Settings
from models.signin import SigninThrottle


@dataclass(frozen=True)
class Limits:
    account_failures: int = 5
    account_first_wait: int = 60
    account_longest_wait: int = 15 * 60
    address_failures: int = 20
    address_window: int = 60
    # An account's failures in a row are forgotten after this long without attempts; quiet rows are deleted.
    forget_after: int = 3600


LIMITS = Limits()


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt as the throttle saw it: refused (retry_after seconds) or counted at `stamp`."""

    account_key: str
    address_key: str
    stamp: float
    retry_after: int | None = None


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(request: Request | None, trusted: tuple) -> str:
    peer = request.client.host if request is not None and request.client else ""
    peer_ip = _ip(peer)
    if peer_ip is None:
        return peer or "unknown"
    if not any(peer_ip in network for network in trusted):
        return str(peer_ip)
    assert request is not None  # the peer's address came from it
    hops = [hop for value in request.headers.getlist("x-forwarded-for") for hop in value.split(",")]
    address = peer_ip
    for hop in reversed(hops):
        hop_ip = _ip(hop)
        if hop_ip is None:
            break  # not an address: the last trusted hop is all we can vouch for
        address = hop_ip
        if not any(hop_ip in network for network in trusted):
            break
    return str(address)


def account_key(email: str) -> str:
    # Hashed: the table never keeps the (mistyped, made up) emails people tried.
    return "account:" + hashlib.sha256(email.encode()).hexdigest()


def moment_of(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def _address_block(recent: list[float], limits: Limits) -> dt.datetime | None:
    """The address may try again when the oldest of its last `address_failures` failures leaves the window."""
    if len(recent) < limits.address_failures:
        return None
    return moment_of(recent[-limits.address_failures] + limits.address_window)


def _refused(attempt: Attempt, until: dt.datetime, moment: dt.datetime) -> Attempt:
    return replace(attempt, retry_after=wait_seconds(until, moment))


def address_key(address: str) -> str:
    return ("address:" + address)[:100]


def wait_seconds(until: dt.datetime, moment: dt.datetime) -> int:
    """The retryAfter of a refusal: whole seconds, at least one."""
    return max(1, math.ceil((until - moment).total_seconds()))


async def blocked(keys: list[str], moment: dt.datetime) -> dict[str, dt.datetime]:
    """The keys blocked at `moment`, each with the end of its block: one indexed read. A flood is mostly refused
    attempts, which only read and never queue for the write lock (graph/signin_gate.py asks it too)."""
    rows = cast(
        "list[tuple[str, dt.datetime]]",  # pragma: no mutate
        await SigninThrottle.filter(key__in=sorted(keys), blocked_until__gt=moment).values_list("key", "blocked_until"),
    )
    return dict(rows)


async def begin(settings: Settings, email: str, address: str, limits: Limits = LIMITS) -> Attempt:
    """Refuse the attempt (retry_after set) or count it as a failure until `succeeded` says otherwise."""
    now = settings.clock()
    moment = moment_of(now)
    attempt = Attempt(account_key(email), address_key(address), now)
    keys = sorted((attempt.account_key, attempt.address_key))
    if found := await blocked(keys, moment):
        return _refused(attempt, max(found.values()), moment)
    async with in_transaction():
        # A write first: on SQLite it takes the write lock at once, so two processes never both read then write.
        # Again when a row is gone by the time it is locked: on PostgreSQL a concurrent success of the same account
        # (`succeeded`) can delete the row this insert found and skipped; once locked, rows stay.
        rows: dict[str, SigninThrottle] = {}
        for _ in range(3):
            await SigninThrottle.bulk_create(
                [SigninThrottle(key=key, last_attempt_at=moment) for key in keys if key not in rows],
                ignore_conflicts=True,
            )
            locked = await SigninThrottle.filter(key__in=keys).order_by("key").select_for_update()
            rows = {row.key: row for row in locked}
            if len(rows) == len(keys):
                break
        else:
            raise RuntimeError("sign-in throttle rows deleted as fast as they are written")
        ends = [row.blocked_until for row in rows.values() if row.blocked_until and row.blocked_until > moment]
        if ends:  # blocked meanwhile, by a concurrent attempt
            return _refused(attempt, max(ends), moment)
        account, source = rows[attempt.account_key], rows[attempt.address_key]
        quiet = (moment - account.last_attempt_at).total_seconds() > limits.forget_after
        account.failures = (0 if quiet else account.failures) + 1
        if account.failures >= limits.account_failures:
            doublings = account.failures - limits.account_failures
            wait = min(limits.account_first_wait * 2 ** min(doublings, 32), limits.account_longest_wait)
            account.blocked_until = moment_of(now + wait)
        account.last_attempt_at = moment
        recent = [t for t in source.recent if t > now - limits.address_window] + [now]
        source.recent = recent[-limits.address_failures :]
        source.blocked_until = _address_block(source.recent, limits)
        source.last_attempt_at = moment
        for row in (account, source):
            await row.save(update_fields=["failures", "recent", "blocked_until", "last_attempt_at"])
        cutoff = moment_of(now - limits.forget_after)
        await SigninThrottle.filter(
            Q(blocked_until=None) | Q(blocked_until__lt=moment), last_attempt_at__lt=cutoff
        ).delete()
    return attempt


def exchange_key(address: str) -> str:
    # Refused trainer-link exchanges are counted apart from failed sign-ins: a school behind one address whose
    # teachers mistype passwords does not lock its tutors' links out, nor the reverse.
    return ("link:" + address)[:100]


async def begin_exchange(settings: Settings, address: str, limits: Limits = LIMITS) -> Attempt:
    """A trainer-link exchange from `address`, counted as a refusal until `succeeded` says otherwise: at most
    `address_failures` refused exchanges in any `address_window` seconds, as an address's failed sign-ins (a client
    trying made-up links is refused, retry_after set, without the link being looked up)."""
    now = settings.clock()
    moment = moment_of(now)
    key = exchange_key(address)
    attempt = Attempt("", key, now)
    if found := await blocked([key], moment):
        return _refused(attempt, max(found.values()), moment)
    async with in_transaction():
        await SigninThrottle.bulk_create([SigninThrottle(key=key, last_attempt_at=moment)], ignore_conflicts=True)
        source = await SigninThrottle.filter(key=key).select_for_update().get()
        if source.blocked_until is not None and source.blocked_until > moment:  # blocked meanwhile
            return _refused(attempt, source.blocked_until, moment)
        recent = [t for t in source.recent if t > now - limits.address_window] + [now]
        source.recent = recent[-limits.address_failures :]
        source.blocked_until = _address_block(source.recent, limits)
        source.last_attempt_at = moment
        await source.save(update_fields=["recent", "blocked_until", "last_attempt_at"])
    return attempt


async def succeeded(attempt: Attempt, limits: Limits = LIMITS) -> None:
    """The attempt signed in: the account's failures are forgotten, the address's count gives this one back."""
    async with in_transaction():
        await SigninThrottle.filter(key=attempt.account_key).delete()
        source = await SigninThrottle.filter(key=attempt.address_key).select_for_update().first()
        if source is not None and attempt.stamp in source.recent:
            source.recent.remove(attempt.stamp)
            source.blocked_until = _address_block(source.recent, limits)
            await source.save(update_fields=["recent", "blocked_until"])

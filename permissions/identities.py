"""From a person named by an identity provider to a local account, never the other way round.

A provider proves who someone is; the account, its school and its role are
those an administrator set up (by hand or through the roster import), or,
only where a provider's just-in-time rules are turned on, those its claims
give within what those rules allow (permissions/provisioning.py). Without
them a person with no account stays out: nothing is created on the fly.
"""

from __future__ import annotations

from models.users import ExternalIdentity, User

MAX_SUBJECT = 254


async def find_user(provider: str, match: str, value: str) -> User | None:
    """The active account `value` names at `provider`, matched by external identity or by email."""
    value = value.strip()
    if not value or len(value) > MAX_SUBJECT:
        return None
    if match == "email":
        user = await User.get_or_none(email=value.lower())
    else:
        link = await ExternalIdentity.get_or_none(provider=provider, subject=value).prefetch_related("user")
        user = link.user if link else None
    if user is None or not user.is_active:
        return None
    return user

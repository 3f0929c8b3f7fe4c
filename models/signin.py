"""Sign-in bookkeeping shared by every server process: the throttle state (permissions/throttle.py) and the
sessions opened through an identity provider's pages (graph/routes/oidc.py, casLogin), and the refresh tokens
(permissions/refresh.py)."""

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.users import User


class SigninThrottle(Model):
    """Failed sign-ins counted per account (a hash of the email, known or not) and per client address."""

    # "account:<sha256 of the email>", "address:<ip>" (failed sign-ins) or "link:<ip>" (refused link exchanges).
    key = fields.CharField(max_length=100, primary_key=True)
    # Accounts: attempts in a row not (yet) known to have succeeded.
    failures = fields.IntField(default=0)
    # Addresses: when the failures of the last window happened (seconds since the epoch), oldest first.
    recent: fields.JSONField[list[float]] = fields.JSONField(default=list)
    blocked_until = fields.DatetimeField(null=True)
    last_attempt_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "signin_throttle"


class ProviderSession(Model):
    """A sign-in through an identity provider's pages: an OpenID provider's authorization endpoint
    (graph/routes/oidc.py; `sid` is the provider's session id) or a CAS server's login page (casLogin; `sid` is the
    service ticket, which the CAS server's single-logout request names). Kept with the server's tokens issued for it
    (their `ses` claim is this row's id), so a logout at the provider revokes exactly those tokens, not the
    person's other sessions."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="provider_sessions", on_delete=fields.CASCADE
    )
    user_id: int
    provider = fields.CharField(max_length=100)
    subject = fields.CharField(max_length=254)
    sid = fields.CharField(max_length=255, null=True)
    # Sent back to the provider as `id_token_hint` when the person signs out here (RP-initiated logout); empty
    # for CAS.
    id_token = fields.TextField()
    created_at = fields.DatetimeField()
    # The issued token's expiry: a row past it protects nothing any more (kept for the record, never read).
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "provider_session"
        indexes = (("provider", "sid"), ("provider", "subject"))


class RefreshToken(Model):
    """A rotating refresh token (permissions/refresh.py): only a keyed hash of its secret is kept.

    Every token descends from one sign-in, its family: refreshing spends the token and issues its successor in the
    same family; presenting a spent token again revokes the whole family. A token also carries the account's token
    version when the family began, so whatever revokes the account's access tokens (signOutEverywhere, a password
    change, userRevokeTokens, a deactivation) revokes its refresh tokens too."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="refresh_tokens", on_delete=fields.CASCADE
    )
    user_id: int
    # HMAC-SHA256 of the secret under the token secret, in hex: never the secret.
    digest = fields.CharField(max_length=64, unique=True)
    # Random, shared by every token descended from one sign-in.
    family = fields.CharField(max_length=32, db_index=True)
    token_version = fields.IntField()
    issued_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(db_index=True)
    spent_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refresh_token"
        indexes = (("user_id",),)

"""Sign-in bookkeeping shared by every server process: the throttle state (permissions/throttle.py)."""

from tortoise import fields
from tortoise.models import Model


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

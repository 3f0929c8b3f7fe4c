"""Pieces shared by the models of every domain."""

from tortoise import fields
from tortoise.models import Model


class TimestampedModel(Model):
    """Rows whose creation and last change times are set by the server."""

    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        abstract = True


# Model docstrings become table comments in the migrations, and Tortoise's
# SQLite schema editor splits statements on ";": keep semicolons out of them.

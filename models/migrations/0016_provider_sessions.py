"""Sign-in through an identity provider's own pages (issue 13, part 5): one new table, the sessions opened through
an OpenID provider's authorization endpoint or a CAS server's login page, each with the provider's session id
(OIDC `sid`, the CAS service ticket), so a logout at the provider revokes exactly the server's tokens issued for
it. No column of another table changes."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0015_audit_trail")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ProviderSession",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="provider_sessions",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("provider", fields.CharField(max_length=100)),
                ("subject", fields.CharField(max_length=254)),
                ("sid", fields.CharField(null=True, max_length=255)),
                ("id_token", fields.TextField(unique=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("revoked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "provider_session",
                "app": "models",
                "indexes": [Index(fields=["provider", "sid"]), Index(fields=["provider", "subject"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]

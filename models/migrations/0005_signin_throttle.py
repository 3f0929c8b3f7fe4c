from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [("models", "0004_framework_retirement")]

    initial = False

    operations = [
        ops.CreateModel(
            name='SigninThrottle',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=100)),
                ('failures', fields.IntField(default=0)),
                ('recent', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('blocked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_attempt_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'signin_throttle', 'app': 'models', 'pk_attr': 'key', 'table_description': 'Failed sign-ins counted per account (a hash of the email, known or not) and per client address.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='User',
            name='password_change_required',
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]

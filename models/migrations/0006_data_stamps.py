"""Data version stamps (models/stamps.py): one counter per school and one global, bumped by every write of a row a
read can show, in the writing transaction; the response cache keys its answers by them. No row is needed
beforehand (a bump is an upsert; a stamp never bumped reads as 0)."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0005_signin_throttle")]

    initial = False

    operations = [
        ops.CreateModel(
            name='DataStamp',
            fields=[
                ('scope', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40)),
                ('version', fields.BigIntField(default=0)),
            ],
            options={'table': 'data_stamp', 'app': 'models', 'pk_attr': 'scope',
                     'table_description': 'Version counters of the data a read can show: one per school, one global (models/stamps.py).'},
            bases=['Model'],
        ),
    ]

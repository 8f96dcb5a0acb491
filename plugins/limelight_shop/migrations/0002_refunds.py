import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Order",
            name="refunded_minor",
            field=fields.BigIntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name="Order",
            name="refund_flagged",
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name="Order",
            name="taken",
            field=fields.JSONField(
                default=dict,
                null=True,
                encoder=functools.partial(dumps, separators=(",", ":")),
                decoder=loads,
            ),
        ),
    ]

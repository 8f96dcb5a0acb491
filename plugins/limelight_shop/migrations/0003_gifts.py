from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_refunds")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Order",
            name="gift",
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]

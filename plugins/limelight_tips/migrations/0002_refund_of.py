from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("tips", "0001_initial")]

    initial = False

    operations = [
        ops.AddField(
            model_name="LedgerEntry",
            name="refund_of",
            field=fields.CharField(max_length=300, default="", db_default="", db_index=True),
        ),
    ]

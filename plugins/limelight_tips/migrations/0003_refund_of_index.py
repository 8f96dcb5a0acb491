from limelight.migration_ops import IndexAddedField
from tortoise import migrations


class Migration(migrations.Migration):
    dependencies = [("tips", "0002_refund_of")]

    initial = False

    # 0002 added refund_of with db_index=True; tortoise's AddField left the index out.
    operations = [IndexAddedField(model_name="LedgerEntry", name="refund_of")]

from tortoise import migrations

from limelight.migration_ops import IndexAddedField


class Migration(migrations.Migration):
    dependencies = [("limelight", "0009_alert_designs")]

    initial = False

    # 0008 added moderator_id with db_index=True; tortoise's AddField left the index out.
    operations = [IndexAddedField(model_name="DashboardSession", name="moderator_id")]

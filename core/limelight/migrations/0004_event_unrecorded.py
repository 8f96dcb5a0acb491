from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("limelight", "0003_overlay_settings")]

    initial = False

    operations = [
        ops.AddField(
            model_name="EventRecord",
            name="unrecorded",
            field=fields.CharField(max_length=500, default="", db_default=""),
        ),
    ]

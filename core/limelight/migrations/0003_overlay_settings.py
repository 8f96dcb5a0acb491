from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("limelight", "0002_overlay_alerts")]

    initial = False

    operations = [
        ops.CreateModel(
            name="OverlaySetting",
            fields=[
                ("overlay", fields.CharField(primary_key=True, max_length=80, unique=True)),
                ("paused", fields.BooleanField(default=False)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "limelight_overlay_setting",
                "app": "limelight",
                "pk_attr": "overlay",
            },
            bases=["Model"],
        ),
    ]

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("limelight", "0008_moderators")]

    initial = False

    operations = [
        ops.CreateModel(
            name="AlertDesign",
            fields=[
                ("id", fields.IntField(primary_key=True, unique=True, db_index=True)),
                ("overlay", fields.CharField(max_length=80)),
                ("kind", fields.CharField(max_length=80)),
                ("variations", fields.JSONField(default=list)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "limelight_alert_design",
                "app": "limelight",
                "unique_together": (("overlay", "kind"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]

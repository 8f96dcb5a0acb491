from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("limelight", "0006_sessions")]

    initial = False

    operations = [
        ops.CreateModel(
            name="MilestoneClaim",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("owner", fields.CharField(max_length=80)),
                ("ladder", fields.CharField(max_length=200)),
                ("at", fields.BigIntField()),
                ("label", fields.CharField(default="", max_length=200)),
                ("fired_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("actions", fields.JSONField(default=list)),
                ("values", fields.JSONField(default=dict)),
                ("contributors", fields.JSONField(default=list)),
                ("progress", fields.JSONField(default=list)),
                (
                    "done_at",
                    fields.DatetimeField(
                        null=True, db_index=True, auto_now=False, auto_now_add=False
                    ),
                ),
            ],
            options={
                "table": "limelight_milestone",
                "app": "limelight",
                "unique_together": (("owner", "ladder", "at"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]

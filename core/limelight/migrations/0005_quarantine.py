from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("limelight", "0004_event_unrecorded")]

    initial = False

    operations = [
        ops.CreateModel(
            name="QuarantineEntry",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("source", fields.CharField(max_length=80)),
                ("source_id", fields.CharField(max_length=200)),
                ("type", fields.CharField(default="", max_length=80)),
                ("amount", fields.CharField(default="", max_length=40)),
                ("currency", fields.CharField(default="", max_length=16)),
                ("payer", fields.CharField(default="", max_length=200)),
                ("event_id", fields.BigIntField(null=True, db_index=True)),
                ("stage", fields.CharField(max_length=16)),
                ("plugins", fields.CharField(default="", max_length=500)),
                ("error", fields.TextField(unique=False)),
                ("payload", fields.TextField(unique=False)),
                ("attempts", fields.IntField(default=1)),
                ("first_seen", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("last_seen", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "dismissed_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "limelight_quarantine",
                "app": "limelight",
                "unique_together": (("source", "source_id"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("limelight", "0005_quarantine")]

    initial = False

    operations = [
        ops.CreateModel(
            name="DashboardSession",
            fields=[
                (
                    "key",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "expires_at",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={"table": "limelight_session", "app": "limelight", "pk_attr": "key"},
            bases=["Model"],
        ),
    ]

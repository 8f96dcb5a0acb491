from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("limelight", "0007_milestones")]

    initial = False

    operations = [
        ops.AddField(
            model_name="DashboardSession",
            name="role",
            field=fields.CharField(max_length=16, default="admin", db_default="admin"),
        ),
        ops.AddField(
            model_name="DashboardSession",
            name="moderator_id",
            field=fields.IntField(null=True, db_index=True),
        ),
        ops.CreateModel(
            name="Moderator",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("name", fields.CharField(max_length=40, unique=True)),
                ("password_hash", fields.CharField(max_length=300)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("last_login", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("revoked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={"table": "limelight_moderator", "app": "limelight", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ModeratorInvite",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("key", fields.CharField(max_length=64, unique=True)),
                ("name", fields.CharField(max_length=40)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("used_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("revoked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("moderator_id", fields.IntField(null=True)),
            ],
            options={"table": "limelight_moderator_invite", "app": "limelight", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


def _id(big: bool = False) -> fields.Field:  # type: ignore[type-arg]
    kind = fields.BigIntField if big else fields.IntField
    return kind(generated=True, primary_key=True, unique=True, db_index=True)


def _when(null: bool = False, index: bool = False) -> fields.DatetimeField:
    return fields.DatetimeField(null=null, db_index=index, auto_now=False, auto_now_add=False)


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="Challenge",
            fields=[
                ("id", _id()),
                ("key", fields.CharField(unique=True, max_length=80)),
                ("title", fields.CharField(max_length=200)),
                ("metric", fields.CharField(max_length=80)),
                ("target", fields.BigIntField()),
                ("window", fields.CharField(max_length=16)),
                ("starts", _when(null=True)),
                ("ends", _when(null=True)),
                ("recurring", fields.BooleanField(default=True)),
                ("audience", fields.CharField(default="creator", max_length=16)),
                ("milestones", fields.JSONField(default=list)),
                ("rewards", fields.JSONField(default=list)),
                ("paused", fields.BooleanField(default=False)),
                ("show", fields.BooleanField(default=True)),
                ("origin", fields.CharField(default="dashboard", max_length=16)),
                ("created_at", _when()),
                ("updated_at", _when()),
            ],
            options={"table": "challenges_challenge", "app": "challenges", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Run",
            fields=[
                ("id", _id(big=True)),
                ("challenge_id", fields.IntField(db_index=True)),
                ("key", fields.CharField(max_length=80)),
                ("starts", _when()),
                ("ends", _when(null=True)),
                ("total", fields.BigIntField(default=0)),
                ("completed_at", _when(null=True, index=True)),
                ("closed", fields.BooleanField(default=False, db_index=True)),
            ],
            options={
                "table": "challenges_run",
                "app": "challenges",
                "unique_together": (("challenge_id", "key"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Contribution",
            fields=[
                ("id", _id(big=True)),
                ("run_id", fields.BigIntField(db_index=True)),
                ("source", fields.CharField(max_length=80)),
                ("source_id", fields.CharField(max_length=200)),
                ("amount", fields.BigIntField()),
                ("viewer_platform", fields.CharField(null=True, max_length=40)),
                ("viewer_id", fields.CharField(null=True, max_length=100)),
                ("viewer_name", fields.CharField(null=True, max_length=200)),
                ("created_at", _when()),
            ],
            options={
                "table": "challenges_contribution",
                "app": "challenges",
                "unique_together": (("run_id", "source", "source_id"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="StreamSpan",
            fields=[
                ("id", _id(big=True)),
                ("online_key", fields.CharField(unique=True, max_length=300)),
                ("started_at", _when()),
                ("ended_at", _when(null=True, index=True)),
            ],
            options={"table": "challenges_stream", "app": "challenges", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]

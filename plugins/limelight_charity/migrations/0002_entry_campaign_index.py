from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("charity", "0001_initial")]

    initial = False

    # A campaign's total from the index alone; every per-campaign read limited to it.
    operations = [
        ops.AddIndex(
            model_name="CharityEntry",
            index=Index(fields=["campaign_id", "id", "counted_minor"]),
        ),
    ]

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("charity", "0002_entry_campaign_index")]

    initial = False

    # A campaign's running total. No data step: a campaign without a row is summed from
    # its entries, and gets its row from that sum with its next donation (ledger.py).
    operations = [
        ops.CreateModel(
            name="CampaignTotal",
            fields=[
                ("campaign_id", fields.IntField(generated=False, primary_key=True)),
                ("total_minor", fields.BigIntField()),
            ],
            options={"table": "charity_total", "app": "charity", "pk_attr": "campaign_id"},
            bases=["Model"],
        ),
    ]

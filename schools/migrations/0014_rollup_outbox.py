"""The rollup outbox (issue 15, docs/operations.md §9.4): one small table per school schema where, with
``HOCBA_ROLLUP_MODE=outbox``, each school write appends its rollup deltas in its own transaction; a worker drains
them into ``public.tenants_schoolrollup``. Derived data: no audit trigger, no window guard (see
``schools/models/outbox.py``). Empty in ``inline`` mode."""

import django.db.models.functions.datetime
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("schools", "0013_audit_chain_citus")]
    operations = [
        migrations.CreateModel(
            name="RollupOutbox",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("year_start", models.PositiveSmallIntegerField()),
                ("students", models.IntegerField(db_default=0, default=0)),
                ("records_draft", models.IntegerField(db_default=0, default=0)),
                ("records_submitted", models.IntegerField(db_default=0, default=0)),
                ("records_approved", models.IntegerField(db_default=0, default=0)),
                ("records_signed", models.IntegerField(db_default=0, default=0)),
                ("records_locked", models.IntegerField(db_default=0, default=0)),
                ("entries", models.IntegerField(db_default=0, default=0)),
                ("entries_term1", models.IntegerField(db_default=0, default=0)),
                ("entries_term2", models.IntegerField(db_default=0, default=0)),
                ("conduct_entries", models.IntegerField(db_default=0, default=0)),
                ("absences", models.IntegerField(db_default=0, default=0)),
                ("created_at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
            ],
        ),
    ]

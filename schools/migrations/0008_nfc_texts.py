"""Stored names and texts in NFC (issue 13): what was sent decomposed (NFD) before text was normalised at the
boundary. Only rows holding a non-NFC value are rewritten; the window guard's update trigger is off for that
statement (a locked year's names are not data a person changes), the audit trigger stays on and records the change
with the source ``migration``."""

from django.db import migrations
from hocba.kernel.text import json_columns, nfc_table, text_columns

NOTE = "schools.0008_nfc_texts"
APPEND_ONLY = {"auditentry"}  # the chain itself: refuses updates, and its hashes cover the texts as written


def normalise(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for model in apps.get_app_config("schools").get_models():
            if model._meta.model_name not in APPEND_ONLY:
                nfc_table(
                    cursor,
                    model._meta.db_table,
                    text_columns(model),
                    json_columns=json_columns(model),
                    quiet_triggers=("window_upd",),
                    note=NOTE,
                )


class Migration(migrations.Migration):
    dependencies = [("schools", "0007_window_guard_one_function")]
    operations = [migrations.RunPython(normalise, migrations.RunPython.noop)]

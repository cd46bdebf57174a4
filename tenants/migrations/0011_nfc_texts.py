"""Stored names and texts in NFC (issue 13): school names, unit names, account names, window reasons, … sent
decomposed (NFD) before text was normalised at the boundary. Only rows holding a non-NFC value are rewritten."""

from django.db import migrations
from hocba.kernel.text import json_columns, nfc_table, text_columns

NOTE = "tenants.0011_nfc_texts"
# The audit trail is append-only (its trigger refuses updates); a template's script is covered by its digest.
SKIP = {"platformauditentry", "schematemplate"}


def normalise(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for model in apps.get_app_config("tenants").get_models():
            if model._meta.model_name not in SKIP:
                nfc_table(
                    cursor,
                    model._meta.db_table,
                    text_columns(model),
                    json_columns=json_columns(model),
                    note=NOTE,
                )


class Migration(migrations.Migration):
    dependencies = [("tenants", "0010_api_tokens")]
    operations = [migrations.RunPython(normalise, migrations.RunPython.noop)]

from django.db import migrations

SLEEP_SECONDS = 0.6

FORWARD = f"""
SELECT pg_sleep({SLEEP_SECONDS});
ALTER TABLE schools_student ADD COLUMN probe_note text NULL DEFAULT '';
INSERT INTO public.migprobe_log (schema_name) VALUES (current_schema());
"""

BACKWARD = "ALTER TABLE schools_student DROP COLUMN probe_note;"


class Migration(migrations.Migration):
    dependencies = [("schools", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]

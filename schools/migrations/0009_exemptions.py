"""Exemptions (issue 12 item 1): the principal's decision that a student is not assessed in a subject, or is
assessed on theory in place of its practical part (TT22 art. 10), for a term or the whole year. The table is
audited like every school table (sql/0002_audit_tables.sql's four triggers) and guarded by the windows as term I's
or term II's scores (``schools.windowguards.GUARDS``, installed here since sql/0003_windows.sql predates it)."""

import django.db.models.deletion
from django.db import migrations, models

from schools.windowguards import added_sql

AUDIT_SQL = """
CREATE TRIGGER audit_ins AFTER INSERT ON schools_exemption REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION audit_on_insert();
CREATE TRIGGER audit_upd AFTER UPDATE ON schools_exemption REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION audit_on_update();
CREATE TRIGGER audit_del AFTER DELETE ON schools_exemption REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION audit_on_delete();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON schools_exemption
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("schools", "0008_nfc_texts")]
    operations = [
        migrations.CreateModel(
            name="Exemption",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "term",
                    models.PositiveSmallIntegerField(blank=True, help_text="1 or 2; empty: the whole year", null=True),
                ),
                (
                    "part",
                    models.CharField(
                        choices=[("subject", "Miễn học cả môn"), ("practical", "Miễn học phần thực hành")],
                        default="subject",
                        max_length=10,
                    ),
                ),
                ("reason", models.CharField(max_length=300)),
                ("decision_number", models.CharField(max_length=60)),
                ("decided_on", models.DateField()),
                (
                    "recorded_by",
                    models.BigIntegerField(blank=True, help_text="the account that recorded the decision", null=True),
                ),
                ("recorded_at", models.DateTimeField(auto_now_add=True)),
                (
                    "student",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="schools.student"
                    ),
                ),
                (
                    "subject",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="schools.subject"
                    ),
                ),
                (
                    "year",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="schools.schoolyear"
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["year", "student"], name="exemption_year_student")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("student", "subject", "year", "term"),
                        name="exemption_once_per_term",
                        nulls_distinct=False,
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("term__isnull", True), ("term__in", [1, 2]), _connector="OR"),
                        name="exemption_term",
                    ),
                ],
            },
        ),
        migrations.RunSQL(AUDIT_SQL + added_sql("0009_exemptions"), migrations.RunSQL.noop),
    ]

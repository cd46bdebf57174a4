"""Signing (issue 10): the record book's signing columns, and the window guard that knows signed records.

* ``signed_at``/``sealed_by`` (the seal closed the chain: approved → signed), ``locked_at``/``locked_by`` (the
  principal's khóa decision: signed → locked), ``revoked_*`` (the principal's revocation: back to draft). All are
  workflow columns (``schools.audit.history.WORKFLOW_FIELDS``): a signature is not an edit after approval.
* ``window_guard()`` replaced (``sql/0003_windows.sql``): the signing path goes on after a lock (an UPDATE that only
  moves records forward approved → signed → locked and changes nothing but the state and those columns), and rows of
  a signed or locked record are refused with SQLSTATE HB409 by every path; the record book's triggers re-created
  with their new placement (``record``: its UPDATE trigger also passes the old rows).
* a partial index of the signed and locked records, which the guard probes for every statement it checks."""

from django.db import migrations, models

from schools.windowguards import function_sql, retrigger_sql


class Migration(migrations.Migration):
    dependencies = [("schools", "0018_rollup_reserved")]
    operations = [
        migrations.AddField(
            model_name="recordbook",
            name="signed_at",
            field=models.DateTimeField(blank=True, help_text="when the school's seal closed the chain", null=True),
        ),
        migrations.AddField(
            model_name="recordbook",
            name="sealed_by",
            field=models.BigIntegerField(blank=True, help_text="the account that applied the school's seal", null=True),
        ),
        migrations.AddField(
            model_name="recordbook",
            name="locked_at",
            field=models.DateTimeField(
                blank=True, help_text="the principal's khóa decision (004 art. 12.1)", null=True
            ),
        ),
        migrations.AddField(
            model_name="recordbook",
            name="locked_by",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="recordbook",
            name="revoked_at",
            field=models.DateTimeField(blank=True, help_text="the last revocation of a signed record", null=True),
        ),
        migrations.AddField(
            model_name="recordbook",
            name="revoked_by",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="recordbook",
            name="revoked_reason",
            field=models.TextField(blank=True, help_text="why the principal revoked the signed record"),
        ),
        migrations.AddIndex(
            model_name="recordbook",
            index=models.Index(
                condition=models.Q(("state__in", ["signed", "locked"])),
                fields=["year", "student"],
                name="record_signed_or_locked",
            ),
        ),
        migrations.RunSQL(function_sql() + retrigger_sql("recordbook"), migrations.RunSQL.noop),
    ]

"""The record book parents read: what a reader of approved records sees is frozen at each approval, so that after
a reopen (approved → draft, by the principal) a parent still reads the last approved version, not the draft.

``results`` already held the results computed at approval (and is not cleared by a reopen); ``approved_view`` holds
the rest of the approved book: the homeroom teacher's and the principal's comments, the completion note, the awards
and discipline, who submitted and approved it when. Records approved before this version have none: while approved
their columns are the approved book; one reopened before this version shows its parents the frozen results only.

The book names every parent or guardian, the parents' accounts linked to the student among them: a link says how
the account's holder is related to the student (``GuardianLink.relation``: Bố, Mẹ, …; empty for the links made before
this version)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("schools", "0016_approval_completeness")]
    operations = [
        migrations.AddField(
            model_name="guardianlink",
            name="relation",
            field=models.CharField(blank=True, max_length=40, verbose_name="Quan hệ với học sinh"),
        ),
        migrations.AlterField(
            model_name="recordbook",
            name="results",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="results as computed at the last approval; kept through a reopen: what readers of approved "
                "records see until the next approval",
            ),
        ),
        migrations.AddField(
            model_name="recordbook",
            name="approved_view",
            field=models.JSONField(
                blank=True,
                default=None,
                help_text="the rest of what readers of approved records (parents) see, frozen at the last approval: "
                "comments, completion note, awards and discipline, who submitted and approved when; null: never "
                "approved",
                null=True,
            ),
        ),
    ]

"""A student's identity across years (issue 12 item 7): the personal identification number and the MoET student code
are unique in the school only when given — partial unique indexes that leave out empty values (NULL or ''), in place
of the plain unique indexes. The values already stored are kept as they are; the checks of the number against the
date of birth and sex (``schools.rules.identity``) run when a profile is entered or changed."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("schools", "0011_shared_assignments")]
    operations = [
        migrations.AlterField(
            model_name="student",
            name="moet_code",
            field=models.CharField(blank=True, max_length=20, null=True, verbose_name="Mã học sinh"),
        ),
        migrations.AlterField(
            model_name="student",
            name="personal_id",
            field=models.CharField(blank=True, max_length=12, null=True, verbose_name="Số định danh cá nhân"),
        ),
        migrations.AddConstraint(
            model_name="student",
            constraint=models.UniqueConstraint(
                condition=models.Q(("personal_id__isnull", False), models.Q(("personal_id", ""), _negated=True)),
                fields=("personal_id",),
                name="student_personal_id_once",
            ),
        ),
        migrations.AddConstraint(
            model_name="student",
            constraint=models.UniqueConstraint(
                condition=models.Q(("moet_code__isnull", False), models.Q(("moet_code", ""), _negated=True)),
                fields=("moet_code",),
                name="student_moet_code_once",
            ),
        ),
    ]

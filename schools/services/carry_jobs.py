"""The year-end carry-over of a class as a background job (``tenants.services.jobs``), with a result page naming
what became of each student: moved up to which class, kept back in which class, or left in the class and why.

The request checks what it can without writing (the requester may set up the school; the target classes belong to
the next year and the right grades; the class still has students) and queues the job; the worker carries the class
over with ``students.class_carry_over`` — all or nothing, as it always was: one transaction for the whole class, the
students' outcomes committed with it. A refusal when it runs (the class was carried over meanwhile, a lock) fails
the job with its message, and nothing is written. Safe to run twice: a redelivered job that finds its rows recorded
knows the class was carried over and only ends the job.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError, Message

from tenants.selectors import membership_list
from tenants.services.jobs import JobInfo, JobProgress, RowOutcome, job_create, job_task

from ..access import SchoolAccess, school_access
from ..models import SchoolClass
from ..selectors import class_enrolled_students, student_names
from . import students
from .common import require

CARRY_KIND = "schools.carry_over"
CAPABILITY = "school.setup"


def carry_over_start(
    *,
    access: SchoolAccess,
    school_class: SchoolClass,
    to_class: SchoolClass,
    repeat_class: SchoolClass | None,
    back_url: str = "",
) -> int:
    """Check the carry-over and queue it; returns the job's id."""
    require(access.can(CAPABILITY))
    students.carry_over_check(school_class, to_class, repeat_class)
    members = class_enrolled_students(school_class)
    if not members:
        raise DomainError(
            "students.carry_empty",
            _("Lớp %(c)s không còn học sinh nào đang học để chuyển lên năm sau."),
            params={"c": school_class.name},
            field="school_class",
        )
    return job_create(
        kind=CARRY_KIND,
        requested_by=access.account_id,
        capability=CAPABILITY,
        school_id=access.school_id,
        total=len(members),
        params={
            "school_class": school_class.pk,
            "to_class": to_class.pk,
            "repeat_class": repeat_class.pk if repeat_class else None,
        },
        task=carry_over_class,
        schema_name=connection.schema_name,
        title=Message(_("Chuyển lớp %(c)s lên năm học sau"), {"c": school_class.name}),
        back_url=back_url,
    )


def _requester_access(job: JobInfo) -> SchoolAccess:
    """The requester's access in the school as it is now (someone who lost the right meanwhile is refused)."""
    roles = {m.role for m in membership_list(school_ids=[job.school_id]) if m.account_id == job.requested_by_id}
    return school_access(job.requested_by_id, job.school_id, roles)


def _class(pk: Any, field: str) -> SchoolClass:
    found = SchoolClass.objects.filter(pk=pk).select_related("year").first() if pk else None
    if found is None:
        raise DomainError("students.class_unknown", _("Không tìm thấy lớp này ở trường."), field=field)
    return found


WHY_NOT_CARRIED = {
    "repeat": _("Ở lại lớp; chưa chọn lớp năm sau cho học sinh ở lại lớp, nên học sinh vẫn ở lớp cũ."),
    "pending": _("Chưa có kết quả thi lại hoặc rèn luyện trong hè: học sinh vẫn ở lớp cũ cho đến khi có kết quả."),
}


@job_task(CARRY_KIND, school=True)
def carry_over_class(job: JobInfo, progress: JobProgress) -> tuple[Any, dict[str, Any]] | None:
    """Carry the job's class over to the next year, for its requester, all or nothing."""
    if progress.recorded:
        return None  # a redelivery after the commit: the class was carried over with these rows
    access = _requester_access(job)
    require(access.can(CAPABILITY))
    school_class = _class(job.params.get("school_class"), "school_class")
    to_class = _class(job.params.get("to_class"), "to_class")
    repeat_class = _class(job.params["repeat_class"], "repeat_class") if job.params.get("repeat_class") else None
    order = [s.pk for s in class_enrolled_students(school_class)]
    group = school_class.name
    with transaction.atomic():
        result = students.class_carry_over(
            access=access, school_class=school_class, to_class=to_class, repeat_class=repeat_class
        )
        names = student_names(order)
        moved = {e.student_id: e for e in result.carried}
        repeating = set(result.repeating)
        why = dict(result.not_carried)
        for number, student_id in enumerate(order, start=1):
            name = names.get(student_id, "")
            if student_id in moved and student_id in repeating:
                progress.row(
                    number,
                    key=name,
                    group=group,
                    outcome=RowOutcome.MOVED,
                    message=_("Ở lại lớp: vào lớp %(c)s năm học sau."),
                    params={"c": repeat_class.name if repeat_class else ""},
                    data={"student_id": student_id},
                )
            elif student_id in moved:
                progress.row(
                    number,
                    key=name,
                    group=group,
                    outcome=RowOutcome.MOVED,
                    message=_("Lên lớp %(c)s."),
                    params={"c": to_class.name},
                    data={"student_id": student_id},
                )
            else:
                progress.row(
                    number,
                    key=name,
                    group=group,
                    outcome=RowOutcome.STAYED,
                    message=WHY_NOT_CARRIED.get(why.get(student_id, ""), _("Không chuyển.")),
                    data={"student_id": student_id},
                )
        progress.flush()  # the rows commit with the carry-over
    return (
        _(
            "Đã chuyển %(n)s học sinh của lớp %(c)s lên năm học sau; %(k)s học sinh chưa chuyển. Cả lớp được chuyển "
            "trong một lần: có lỗi thì không học sinh nào được chuyển."
        ),
        {"n": len(result.carried), "c": school_class.name, "k": len(result.not_carried)},
    )

"""Demo content of one school: the 2025–2026 year, classes, students, teaching and some entries.

Runs inside the school's schema (tenants.demo calls it through tenants.perschool); idempotent."""

from __future__ import annotations

import datetime as dt
import random

from hocba.kernel.levels import LEVEL_GRADES, PRIMARY
from hocba.kernel.roles import Role

from .access import SchoolAccess
from .models import Department, SchoolClass, SchoolYear, Subject
from .rules.identity import century_sex_digit
from .services.classwork import conduct_save
from .services.setup import assignment_set, class_create, school_year_open
from .services.sheets import sheet_columns, sheet_save
from .services.students import guardian_link, student_enrol

FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
]
MIDDLE_M = ["Văn", "Minh", "Hoàng", "Quốc", "Đức", "Gia", "Thanh"]
MIDDLE_F = ["Thị", "Ngọc", "Thu", "Bảo", "Khánh", "Thanh", "Mai"]
GIVEN_M = [
    "An",
    "Bảo",
    "Cường",
    "Dũng",
    "Đạt",
    "Hải",
    "Huy",
    "Khoa",
    "Long",
    "Nam",
    "Phúc",
    "Quân",
    "Sơn",
    "Tài",
    "Vinh",
]
GIVEN_F = [
    "Anh",
    "Châu",
    "Diệp",
    "Giang",
    "Hà",
    "Hạnh",
    "Lan",
    "Linh",
    "My",
    "Nhi",
    "Oanh",
    "Quyên",
    "Thảo",
    "Uyên",
    "Vy",
]


def _name(rng: random.Random, male: bool) -> str:
    return " ".join(
        (rng.choice(FAMILY), rng.choice(MIDDLE_M if male else MIDDLE_F), rng.choice(GIVEN_M if male else GIVEN_F))
    )


def seed_school(
    *, school_id: int, levels: list[str], staff: dict[str, int | None], students_per_class: int = 12, today: dt.date
) -> bool:
    """Create the demo year if missing. ``staff`` holds account ids: homeroom, subject, department_head, parent."""
    if SchoolYear.objects.filter(start_year=2025).exists():
        return False
    system = SchoolAccess(None, school_id, frozenset({Role.PRINCIPAL}))
    rng = random.Random(school_id)
    year = school_year_open(access=system, start_year=2025, levels=levels)
    first_class = None
    for level in levels:
        grade = LEVEL_GRADES[level][0]
        for suffix in ("A1", "A2"):
            homeroom = staff.get("homeroom") if first_class is None else None
            school_class = class_create(
                access=system, year=year, name=f"{grade}{suffix}", grade=grade, homeroom_teacher_id=homeroom
            )
            first_class = first_class or school_class
            for i in range(students_per_class):
                male = i % 2 == 0
                name = _name(rng, male)
                born = dt.date(2025 - grade - 6, rng.randint(1, 12), rng.randint(1, 28))
                # born in Tây Ninh (072): the century-and-sex digit and the year of birth follow the student
                personal_id = f"072{century_sex_digit(born, 'M' if male else 'F')}{born.year % 100:02d}"
                student_enrol(
                    access=system,
                    school_class=school_class,
                    today=today,
                    starts_on=year.starts_on,
                    profile={
                        "full_name": name,
                        "date_of_birth": born,
                        "gender": "M" if male else "F",
                        "place_of_birth": "Tây Ninh",
                        "address": "Tây Ninh",
                        "personal_id": f"{personal_id}{rng.randint(10**5, 10**6 - 1)}",
                        "guardians": [
                            {
                                "name": _name(rng, not male),
                                "relation": "Mẹ" if male else "Bố",
                                "phone": f"09{rng.randint(10**7, 10**8 - 1)}",
                            }
                        ],
                    },
                )
    _teaching(system, first_class, staff, rng)
    return True


def _teaching(
    system: SchoolAccess, school_class: SchoolClass, staff: dict[str, int | None], rng: random.Random
) -> None:
    subjects = list(Subject.objects.filter(level=school_class.level, grades__contains=[school_class.grade]))
    teacher = staff.get("subject")
    if teacher is None:
        return
    main = next((s for s in subjects if s.code == "toan"), subjects[0])
    assignment_set(access=system, school_class=school_class, subject=main, teacher_id=teacher)
    if staff.get("department_head") and main.department_id:
        Department.objects.filter(pk=main.department_id).update(head_id=staff["department_head"])
    students = list(school_class.enrolments.values_list("student_id", flat=True))
    # Term I entered for the main subject; term II is left for the teacher to fill in.
    cells = []
    for column in sheet_columns(main, school_class, 1):
        if column.value_type in ("score",):
            cells += [
                {"student": s, "column": column.key, "value": f"{rng.randint(50, 100) / 10:.1f}".replace(".", ",")}
                for s in students
            ]
        elif column.value_type == "level":
            cells += [{"student": s, "column": column.key, "value": rng.choice("TTHH")} for s in students]
        elif column.value_type == "test":
            cells += [{"student": s, "column": column.key, "value": str(rng.randint(6, 10))} for s in students]
    sheet_save(access=system, school_class=school_class, subject=main, term=1, cells=cells)
    if school_class.level != PRIMARY:
        conduct_save(
            access=system,
            school_class=school_class,
            term=1,
            entries=[{"student": s, "level": rng.choice("TTTK")} for s in students],
        )
    if staff.get("parent") and students:
        guardian_link(access=system, student=school_class.enrolments.first().student, account_id=staff["parent"])

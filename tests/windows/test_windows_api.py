"""API v1 for open/lock windows and exceptions: the right roles, refusals in both languages that save
nothing, the preview's figures, the school's side (early lock, requests) and the calendar import."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from tenants.models import AdministrativeUnit, SchoolRollup, Window, WindowException
from tenants.services import windows as svc
from tests.school_fixtures import current_school_year
from tests.support import SCHOOL_A_HOST, SCHOOL_B_HOST

YEAR = current_school_year(timezone.localdate())
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def api(w, name: str, host: str = "hocba.localhost") -> APIClient:
    client = APIClient(HTTP_HOST=host)
    client.force_authenticate(w.account(name))
    return client


def at(hours: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(hours=hours)


def local(hours: float) -> str:
    """A time as people type it: dd/mm/yyyy HH:MM, Vietnam time."""
    return timezone.localtime(at(hours)).strftime("%d/%m/%Y %H:%M")


def province_window(w, opens=-2, locks=2, category="scores_1", grades=None):
    return svc.window_create(
        actor=None,
        category=category,
        year_start=YEAR,
        opens_at=at(opens),
        locks_at=at(locks),
        unit=AdministrativeUnit.objects.get(pk=w.province),
        grades=grades,
        reason="Kế hoạch của Sở",
    )


def assert_refusal(response, status: int, code: str):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert body["detail"] and body["detail_en"], body
    return body


# ------------------------------------------------------------------------------------------ create


def test_province_admin_creates_lists_changes_and_cancels(w):
    client = api(w, "province_admin")
    response = client.post(
        "/api/v1/windows/",
        {
            "unit_id": w.province,
            "category": "scores_1",
            "opens_at": local(-1),
            "locks_at": local(48),
            "reason": "Nhập điểm HK I",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["tier"] == "province" and data["year_start"] == YEAR and data["state"] == "open" and data["can_edit"]
    assert timezone.localtime(dt.datetime.fromisoformat(data["opens_at"])).strftime("%d/%m/%Y %H:%M") == local(-1)
    assert [x["id"] for x in client.get(f"/api/v1/windows/?year={YEAR}").json()] == [data["id"]]

    response = client.patch(f"/api/v1/windows/{data['id']}/", {"locks_at": local(24)}, format="json")
    assert response.status_code == 200, response.content
    assert Window.objects.get(pk=data["id"]).locks_at.strftime("%H:%M") == at(24).strftime("%H:%M")

    response = client.post(f"/api/v1/windows/{data['id']}/cancel/")
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    assert client.get(f"/api/v1/windows/?year={YEAR}").json() == []
    assert len(client.get(f"/api/v1/windows/?year={YEAR}&cancelled=1").json()) == 1


def test_unit_admin_schedules_its_own_unit_and_sees_the_province_window(w):
    province_window(w, -5, 5)
    client = api(w, "unit_a_admin")
    response = client.post(
        "/api/v1/windows/",
        {"unit_id": w.unit_a, "category": "scores_1", "opens_at": local(-4), "locks_at": local(4), "grades": [6, 7]},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["tier"] == "unit" and response.json()["grades"] == [6, 7]
    rows = {r["tier"]: r for r in client.get("/api/v1/windows/").json()}
    assert set(rows) == {"province", "unit"}
    assert rows["province"]["can_edit"] is False and rows["unit"]["can_edit"] is True


@pytest.mark.parametrize(
    "payload,status,code",
    [
        ({"unit_id": "unit_b"}, 403, "windows.out_of_scope"),  # another unit
        ({"school_id": "school_b"}, 403, "windows.out_of_scope"),  # a school outside itself
        ({"unit_id": "unit_a", "opens_at": 5, "locks_at": 1}, 400, "windows.lock_before_open"),
        ({"unit_id": "unit_a", "year_start": 2019}, 400, "windows.outside_year"),
        ({"unit_id": "unit_a", "grades": [13]}, 400, "windows.bad_grade"),
        ({"unit_id": "unit_a", "opens_at": "31/02/2026 07:00"}, 400, "windows.invalid_input"),
        ({"unit_id": "unit_a", "category": "diem"}, 400, "windows.invalid_input"),
        ({"unit_id": "unit_a", "school_id": "school_a"}, 400, "windows.scope"),
        ({"unit_id": 999999}, 404, "windows.scope_not_found"),
    ],
)
def test_bad_input_is_refused_in_both_languages_and_saves_nothing(w, payload, status, code):
    body = {"category": "scores_1", "opens_at": local(-1), "locks_at": local(1)}
    for key, value in payload.items():
        if key in ("unit_id", "school_id") and isinstance(value, str):
            value = getattr(w, value)
        if key in ("opens_at", "locks_at") and isinstance(value, int):
            value = local(value)
        body[key] = value
    before = Window.objects.count()
    assert_refusal(api(w, "unit_a_admin").post("/api/v1/windows/", body, format="json"), status, code)
    assert Window.objects.count() == before


def test_widening_a_higher_tier_is_refused(w):
    province_window(w, -2, 2)
    response = api(w, "unit_a_admin").post(
        "/api/v1/windows/",
        {"unit_id": w.unit_a, "category": "scores_1", "opens_at": local(-3), "locks_at": local(3)},
        format="json",
    )
    body = assert_refusal(response, 400, "windows.widening")
    assert "Sở GD&ĐT" in body["detail"]
    assert Window.objects.count() == 1


def test_teacher_and_strangers_are_refused(w):
    window = province_window(w)
    assert api(w, "teacher_a").get("/api/v1/windows/").status_code == 403
    assert api(w, "teacher_a", SCHOOL_A_HOST).get("/api/v1/windows/").status_code == 403
    response = api(w, "teacher_a").post(
        "/api/v1/windows/",
        {"unit_id": w.province, "category": "scores_1", "opens_at": local(-1), "locks_at": local(1)},
        format="json",
    )
    assert response.status_code == 403 and Window.objects.count() == 1
    # The unit admin of unit B never sees unit A's windows; unit A's admin cannot change the province's.
    own = svc.window_create(
        actor=None,
        category="scores_1",
        year_start=YEAR,
        opens_at=at(-1),
        locks_at=at(1),
        unit=AdministrativeUnit.objects.get(pk=w.unit_a),
    )
    assert_refusal(api(w, "unit_b_admin").get(f"/api/v1/windows/{own.pk}/"), 404, "windows.not_found")
    assert_refusal(
        api(w, "unit_b_admin").patch(f"/api/v1/windows/{own.pk}/", {"locks_at": local(3)}, format="json"),
        404,
        "windows.not_found",
    )
    assert own.pk not in [x["id"] for x in api(w, "unit_b_admin").get("/api/v1/windows/").json()]
    assert_refusal(
        api(w, "unit_a_admin").patch(f"/api/v1/windows/{window.pk}/", {"locks_at": local(1.5)}, format="json"),
        403,
        "windows.out_of_scope",
    )
    assert_refusal(api(w, "unit_a_admin").post(f"/api/v1/windows/{window.pk}/cancel/"), 403, "windows.out_of_scope")
    assert Window.objects.get(pk=window.pk).cancelled_at is None


def test_patch_that_widens_is_refused_and_changes_nothing(w):
    province_window(w, -5, 5)
    own = svc.window_create(
        actor=None,
        category="scores_1",
        year_start=YEAR,
        opens_at=at(-1),
        locks_at=at(1),
        unit=AdministrativeUnit.objects.get(pk=w.unit_a),
    )
    response = api(w, "unit_a_admin").patch(f"/api/v1/windows/{own.pk}/", {"locks_at": local(9)}, format="json")
    assert_refusal(response, 400, "windows.widening")
    assert Window.objects.get(pk=own.pk).locks_at == own.locks_at


# ----------------------------------------------------------------------------------------- preview


def test_preview_counts_schools_and_students_and_names_the_conflict(w):
    higher = province_window(w, -2, 2)
    client = api(w, "unit_a_admin")
    body = {"unit_id": w.unit_a, "category": "scores_1", "opens_at": local(-3), "locks_at": local(3)}
    data = client.post("/api/v1/windows/preview/", body, format="json").json()
    assert data["ok"] is False and data["errors"][0]["code"] == "windows.widening"
    assert data["tier"] == "unit" and data["schools"] == 1
    assert data["students"] is None and data["classes"] is None  # no rollup yet: no figures
    assert [h["id"] for h in data["higher"]] == [higher.pk]
    assert Window.objects.count() == 1  # a preview saves nothing

    SchoolRollup.objects.create(school_id=w.school_a, year_start=YEAR, students=37, classes=2)
    body.update(opens_at=local(-1), locks_at=local(1))
    data = client.post("/api/v1/windows/preview/", body, format="json").json()
    assert data["ok"] is True and data["errors"] == [] and data["students"] == 37 and data["schools_with_figures"] == 1
    assert data["classes"] == 2
    assert Window.objects.count() == 1

    # The province reaches both schools; upper-secondary grades reach neither (both are THCS).
    province = api(w, "province_admin")
    data = province.post("/api/v1/windows/preview/", {**body, "unit_id": w.province}, format="json").json()
    assert data["tier"] == "province" and data["schools"] == 2 and data["higher"] == []
    data = province.post(
        "/api/v1/windows/preview/", {**body, "unit_id": w.province, "grades": [10, 11]}, format="json"
    ).json()
    assert data["schools"] == 0


def test_preview_of_a_change_and_of_a_foreign_scope(w):
    province_window(w, -2, 2)
    own = svc.window_create(
        actor=None,
        category="scores_1",
        year_start=YEAR,
        opens_at=at(-1),
        locks_at=at(1),
        unit=AdministrativeUnit.objects.get(pk=w.unit_a),
    )
    data = (
        api(w, "unit_a_admin")
        .post(
            "/api/v1/windows/preview/",
            {"window_id": own.pk, "opens_at": local(-1), "locks_at": local(5)},
            format="json",
        )
        .json()
    )
    assert data["errors"][0]["code"] == "windows.widening"
    assert Window.objects.get(pk=own.pk).locks_at == own.locks_at
    data = (
        api(w, "unit_a_admin")
        .post(
            "/api/v1/windows/preview/",
            {"unit_id": w.unit_b, "category": "scores_1", "opens_at": local(-1), "locks_at": local(1)},
            format="json",
        )
        .json()
    )
    assert data["ok"] is False and data["errors"][0]["code"] == "windows.out_of_scope"


# ----------------------------------------------------------------------------------------- a school


def test_principal_locks_the_school_early_on_its_site(w):
    province_window(w, -2, 48)
    client = api(w, "principal_a", SCHOOL_A_HOST)
    response = client.post(
        "/api/v1/windows/",
        {"category": "scores_1", "opens_at": local(-1), "locks_at": local(24), "reason": "Khóa sớm"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["tier"] == "school" and response.json()["school_id"] == w.school_a
    assert {r["tier"] for r in client.get("/api/v1/windows/").json()} == {"province", "school"}
    assert_refusal(
        client.post(
            "/api/v1/windows/",
            {"unit_id": w.unit_a, "category": "scores_1", "opens_at": local(-1), "locks_at": local(1)},
            format="json",
        ),
        400,
        "windows.school_site_scope",
    )
    # Locking later than the province is widening.
    assert_refusal(
        client.post(
            "/api/v1/windows/", {"category": "scores_1", "opens_at": local(-1), "locks_at": local(72)}, format="json"
        ),
        400,
        "windows.widening",
    )
    # Another school's principal sees none of school A's own lock.
    rows = api(w, "principal_b", SCHOOL_B_HOST).get("/api/v1/windows/").json()
    assert [r["tier"] for r in rows] == ["province"]


def test_exception_request_and_decision(w, klass_now):
    lock = province_window(w, -5, -1)
    school = api(w, "principal_a", SCHOOL_A_HOST)
    body = {
        "window_id": lock.pk,
        "class_ids": [klass_now.school_class.pk],
        "until": local(24),
        "reason": "Giáo viên ốm, nhập bù",
    }
    assert_refusal(
        api(w, "principal_a").post("/api/v1/window-exceptions/", body, format="json"),
        400,
        "windows.request_on_school_site",
    )
    assert_refusal(
        school.post("/api/v1/window-exceptions/", {**body, "until": local(24 * 60)}, format="json"),
        400,
        "windows.exception_until",
    )
    assert_refusal(
        school.post("/api/v1/window-exceptions/", {**body, "class_ids": [999999]}, format="json"),
        400,
        "windows.unknown_ids",
    )
    assert_refusal(
        api(w, "teacher_a", SCHOOL_A_HOST).post("/api/v1/window-exceptions/", body, format="json"),
        403,
        "permission_denied",
    )
    assert_refusal(
        api(w, "vice_a", SCHOOL_A_HOST).post("/api/v1/window-exceptions/", body, format="json"),
        403,
        "windows.request_not_allowed",
    )  # sees the windows, may not ask
    assert WindowException.objects.count() == 0
    response = school.post("/api/v1/window-exceptions/", body, format="json")
    assert response.status_code == 201, response.content
    exc_id = response.json()["id"]
    assert [r["status"] for r in school.get("/api/v1/window-exceptions/").json()] == ["requested"]

    # Unit A sees its school's request but did not set the lock; unit B sees nothing.
    rows = api(w, "unit_a_admin").get("/api/v1/window-exceptions/").json()
    assert [(r["id"], r["can_decide"]) for r in rows] == [(exc_id, False)]
    assert api(w, "unit_b_admin").get("/api/v1/window-exceptions/").json() == []
    assert_refusal(
        api(w, "unit_a_admin").post(
            f"/api/v1/window-exceptions/{exc_id}/decide/", {"decision": "approve"}, format="json"
        ),
        403,
        "windows.decide_not_allowed",
    )
    assert_refusal(
        api(w, "unit_b_admin").post(
            f"/api/v1/window-exceptions/{exc_id}/decide/", {"decision": "approve"}, format="json"
        ),
        404,
        "windows.not_found",
    )
    province = api(w, "province_admin")
    assert [r["can_decide"] for r in province.get("/api/v1/window-exceptions/?status=requested").json()] == [True]
    assert_refusal(
        province.post(f"/api/v1/window-exceptions/{exc_id}/decide/", {"decision": "maybe"}, format="json"),
        400,
        "windows.invalid_input",
    )
    response = province.post(
        f"/api/v1/window-exceptions/{exc_id}/decide/", {"decision": "approve", "note": "Đồng ý"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "approved"
    assert_refusal(
        province.post(f"/api/v1/window-exceptions/{exc_id}/decide/", {"decision": "refuse"}, format="json"),
        400,
        "windows.already_decided",
    )


# ------------------------------------------------------------------------------------------ import


def calendar(rows) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Loại dữ liệu", "Khối", "Mở lúc", "Khóa lúc", "Lý do"])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_import_through_the_api_all_or_nothing(w):
    client = api(w, "unit_a_admin")
    y = YEAR
    good = calendar(
        [
            ["Điểm, nhận xét học kì I", "6-9", f"05/09/{y} 07:00", f"10/01/{y + 1} 17:00", "Kế hoạch"],
            ["conduct", "", f"05/09/{y} 07:00", f"31/05/{y + 1}", ""],
        ]
    )
    response = client.post(
        "/api/v1/windows/import/",
        {"unit_id": w.unit_a, "year_start": y, "file": SimpleUploadedFile("lich.xlsx", good, content_type=XLSX)},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json()["created"] == 2 and Window.objects.filter(unit_id=w.unit_a).count() == 2
    bad = calendar(
        [
            ["attendance", "", f"05/09/{y} 07:00", f"31/05/{y + 1} 17:00", ""],
            ["profile", "", f"31/05/{y + 1} 17:00", f"05/09/{y} 07:00", ""],
        ]
    )
    # Another unit's calendar is refused before the file is read: no report of its rows.
    response = client.post(
        "/api/v1/windows/import/",
        {"unit_id": w.unit_b, "year_start": y, "file": SimpleUploadedFile("lich.xlsx", bad, content_type=XLSX)},
        format="multipart",
    )
    assert "rows" not in assert_refusal(response, 403, "windows.out_of_scope")
    response = client.post(
        "/api/v1/windows/import/",
        {"unit_id": w.unit_a, "year_start": y, "file": SimpleUploadedFile("lich.xlsx", bad, content_type=XLSX)},
        format="multipart",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "windows.import_failed" and body["detail_en"]
    assert [r["code"] for r in body["rows"]] == [None, "windows.lock_before_open"]
    assert Window.objects.count() == 2


def test_openapi_lists_the_window_endpoints(w):
    schema = (
        APIClient(HTTP_HOST="hocba.localhost")
        .get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
        .json()
    )
    for path in (
        "/api/v1/windows/",
        "/api/v1/windows/{id}/",
        "/api/v1/windows/preview/",
        "/api/v1/window-exceptions/",
        "/api/v1/window-exceptions/{id}/decide/",
    ):
        assert path in schema["paths"], path

"""Pages for open/lock windows: the list and its timeline, create/edit with a preview, cancel, the
exceptions to decide, the calendar import (round trip, and a broken row that changes nothing), and the
principal's page on the school's site (early lock, exception requests)."""

from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tenants.models import (
    AdministrativeUnit,
    PlatformAuditEntry,
    School,
    SchoolRollup,
    Window,
    WindowException,
)
from tenants.services import windows as svc
from tests.school_fixtures import current_school_year
from tests.support import SCHOOL_A_HOST, SCHOOL_B_HOST

YEAR = current_school_year(timezone.localdate())
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def at(hours: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(hours=hours)


def local(hours: float) -> str:
    return timezone.localtime(at(hours)).strftime("%d/%m/%Y %H:%M")


def province_window(w, opens=-2, locks=2, category="scores_1"):
    return svc.window_create(
        actor=None,
        category=category,
        year_start=YEAR,
        opens_at=at(opens),
        locks_at=at(locks),
        unit=AdministrativeUnit.objects.get(pk=w.province),
        reason="Kế hoạch của Sở",
    )


def unit_window(w, unit="unit_a", opens=-1, locks=1, category="scores_1"):
    return svc.window_create(
        actor=None,
        category=category,
        year_start=YEAR,
        opens_at=at(opens),
        locks_at=at(locks),
        unit=AdministrativeUnit.objects.get(pk=getattr(w, unit)),
    )


def form(w, scope="unit:unit_a", **extra):
    kind, _sep, name = scope.partition(":")
    data = {
        "scope": f"{kind}:{getattr(w, name)}",
        "category": "scores_1",
        "year_start": YEAR,
        "opens_at": local(-1),
        "locks_at": local(1),
        "reason": "Kế hoạch",
    }
    data.update(extra)
    return data


# --------------------------------------------------------------------------------- list, timeline


def test_list_and_timeline_render_for_the_province(w, login):
    window = province_window(w, -2, 24 * 20)
    unit_window(w, "unit_b", -1, 1)
    response = login("province_admin").get(f"/manage/windows/?year={YEAR}")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="timeline"' in body and body.count('class="tl-row"') == 7  # one row per data category
    assert body.count("tl-today") >= 8  # today's marker on the head and every row
    for month in ("T9", "T12", "T1", "T7"):
        assert f">{month}</span>" in body
    assert f'data-window="{window.pk}"' in body and "Phường Bình Minh" in body
    bar = re.search(
        rf'class="tl-bar province[^"]*" data-window="{window.pk}" style="left:([\d.]+)%;width:([\d.]+)%', body
    )
    assert bar and 0 < float(bar.group(1)) < 100 and float(bar.group(2)) > 1


def test_unit_admin_sees_its_own_and_the_province_windows_only(w, login):
    province = province_window(w)
    own, other = unit_window(w, "unit_a"), unit_window(w, "unit_b")
    body = login("unit_a_admin").get("/manage/windows/").content.decode()
    assert f'data-window="{province.pk}"' in body and f'data-window="{own.pk}"' in body
    assert f'data-window="{other.pk}"' not in body and "Phường Bình Minh" not in body


def test_refusals_for_teacher_and_the_other_unit(w, login):
    own = unit_window(w, "unit_a")
    assert login("teacher_a").get("/manage/windows/").status_code == 403
    assert login("teacher_a").get("/manage/windows/new/").status_code == 403
    assert login("teacher_a").post("/manage/windows/new/", form(w, action="save")).status_code == 403
    stranger = login("unit_b_admin")
    assert stranger.get(f"/manage/windows/{own.pk}/").status_code == 404
    assert (
        stranger.post(
            f"/manage/windows/{own.pk}/", {"opens_at": local(-1), "locks_at": local(5), "action": "save"}
        ).status_code
        == 404
    )
    assert stranger.post(f"/manage/windows/{own.pk}/cancel/").status_code == 404
    # A scope the person may not schedule is not among the choices: refused before the form is read, nothing saved.
    response = stranger.post("/manage/windows/new/", form(w, "unit:unit_a", action="save"))
    assert response.status_code == 403 and "errorlist" not in response.content.decode()
    assert Window.objects.count() == 1 and Window.objects.get().locks_at == own.locks_at


# ---------------------------------------------------------------------------------- create, preview


def test_preview_shows_reach_and_conflict_and_saves_nothing(w, login):
    higher = province_window(w, -2, 2)
    audits = PlatformAuditEntry.objects.count()
    client = login("unit_a_admin")
    response = client.post("/manage/windows/new/", form(w, opens_at=local(-3), locks_at=local(3), action="preview"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-verdict="refused"' in body and 'data-code="windows.widening"' in body
    assert re.search(r'data-figure="schools">1<', body)
    assert body.count("chưa có số liệu") == 2  # classes and students: no rollup yet
    assert f'<tr data-window="{higher.pk}">' in body
    assert Window.objects.count() == 1

    SchoolRollup.objects.create(school_id=w.school_a, year_start=YEAR, students=412)
    response = client.post("/manage/windows/new/", form(w, action="preview"))
    body = response.content.decode()
    assert 'data-verdict="ok"' in body and re.search(r'data-figure="students">412', body)
    assert Window.objects.count() == 1 and PlatformAuditEntry.objects.count() == audits  # rolled back, audit too

    response = client.post("/manage/windows/new/", form(w, action="save", grades=["6", "7"]))
    assert response.status_code == 302 and response["Location"] == f"/manage/windows/?year={YEAR}"
    created = Window.objects.exclude(pk=higher.pk).get()
    assert created.tier == "unit" and created.unit_id == w.unit_a and created.grades == [6, 7]
    assert timezone.localtime(created.opens_at).strftime("%d/%m/%Y %H:%M") == local(-1)


@pytest.mark.parametrize(
    "extra,code",
    [
        ({"opens_at": "LATER", "locks_at": "SOONER"}, "windows.lock_before_open"),
        ({"year_start": YEAR - 1}, "windows.outside_year"),
        ({"opens_at": "WIDE_OPEN", "locks_at": "WIDE_LOCK"}, "windows.widening"),
    ],
)
def test_the_form_surfaces_the_service_refusal_and_saves_nothing(w, login, extra, code):
    province_window(w, -2, 2)
    values = {"LATER": local(1), "SOONER": local(-1), "WIDE_OPEN": local(-3), "WIDE_LOCK": local(3)}
    data = form(w, action="save", **{k: values.get(v, v) for k, v in extra.items()})
    response = login("unit_a_admin").post("/manage/windows/new/", data)
    assert response.status_code == 400
    body = response.content.decode()
    assert f'data-code="{code}"' in body and 'class="error"' in body
    assert Window.objects.count() == 1


def test_unit_admin_cannot_lock_a_school_outside_itself(w, login):
    client = login("unit_a_admin")
    response = client.post("/manage/windows/new/", form(w, "school:school_b", action="save"))
    assert response.status_code == 403  # not among its choices: refused before the form is read
    choices = client.get("/manage/windows/new/").content.decode()
    assert f'value="school:{w.school_a}"' in choices and f'value="school:{w.school_b}"' not in choices
    assert f'value="unit:{w.unit_b}"' not in choices and f'value="unit:{w.province}"' not in choices
    assert not Window.objects.exists()


# ------------------------------------------------------------------------------------- edit, cancel


def test_edit_with_preview_then_cancel(w, login):
    window = unit_window(w, "unit_a", -1, 1)
    client = login("unit_a_admin")
    page = client.get(f"/manage/windows/{window.pk}/").content.decode()
    assert 'id="window-form"' in page and local(-1) in page
    response = client.post(
        f"/manage/windows/{window.pk}/",
        {"opens_at": local(-1), "locks_at": local(5), "reason": "Lùi hạn", "action": "preview"},
    )
    assert response.status_code == 200 and 'data-verdict="ok"' in response.content.decode()
    assert Window.objects.get(pk=window.pk).locks_at == window.locks_at
    response = client.post(
        f"/manage/windows/{window.pk}/",
        {"opens_at": local(-1), "locks_at": local(5), "reason": "Lùi hạn", "action": "save"},
    )
    assert response.status_code == 302
    changed = Window.objects.get(pk=window.pk)
    assert changed.reason == "Lùi hạn" and timezone.localtime(changed.locks_at).strftime("%d/%m/%Y %H:%M") == local(5)
    assert client.post(f"/manage/windows/{window.pk}/cancel/").status_code == 302
    assert Window.objects.get(pk=window.pk).cancelled_at is not None


def test_unit_admin_views_but_cannot_change_the_province_window(w, login):
    window = province_window(w)
    client = login("unit_a_admin")
    page = client.get(f"/manage/windows/{window.pk}/")
    assert page.status_code == 200 and 'id="window-form"' not in page.content.decode()
    response = client.post(
        f"/manage/windows/{window.pk}/", {"opens_at": local(-1), "locks_at": local(1), "action": "save"}
    )
    assert response.status_code == 403
    assert client.post(f"/manage/windows/{window.pk}/cancel/").status_code == 403
    assert Window.objects.get(pk=window.pk).cancelled_at is None


# ------------------------------------------------------------------------------------------ exceptions


def test_exceptions_page_for_the_tier_that_set_the_lock(w, login):
    lock = province_window(w, -5, -1)
    exc = svc.exception_request(
        actor=w.account("principal_a"),
        window=lock,
        school=School.objects.get(pk=w.school_a),
        until=at(24),
        reason="Nhập bù điểm",
        class_ids=[1, 2],
    )
    unit_page = login("unit_a_admin").get("/manage/windows/exceptions/").content.decode()
    assert f'data-exception="{exc.pk}"' in unit_page and "Nhập bù điểm" in unit_page
    assert f'action="/manage/windows/exceptions/{exc.pk}/decide/"' not in unit_page  # not the tier that locked
    assert f'data-exception="{exc.pk}"' not in login("unit_b_admin").get("/manage/windows/exceptions/").content.decode()
    assert (
        login("unit_b_admin").post(f"/manage/windows/exceptions/{exc.pk}/decide/", {"decision": "approve"}).status_code
        == 404
    )
    assert login("teacher_a").get("/manage/windows/exceptions/").status_code == 403

    province = login("province_admin")
    page = province.get("/manage/windows/exceptions/").content.decode()
    assert f'action="/manage/windows/exceptions/{exc.pk}/decide/"' in page and "2 lớp, 0 học sinh" in page
    response = province.post(f"/manage/windows/exceptions/{exc.pk}/decide/", {"decision": "refuse", "note": "Quá hạn"})
    assert response.status_code == 302
    decided = WindowException.objects.get(pk=exc.pk)
    assert decided.status == "refused" and decided.decision_note == "Quá hạn"
    # The unit admin's attempt on a decided request changes nothing.
    login("unit_a_admin").post(f"/manage/windows/exceptions/{exc.pk}/decide/", {"decision": "approve"})
    assert WindowException.objects.get(pk=exc.pk).status == "refused"


# ---------------------------------------------------------------------------------------------- import


def _upload(client, w, content: bytes, scope="unit:unit_a"):
    kind, _sep, name = scope.partition(":")
    return client.post(
        "/manage/windows/import/",
        {
            "scope": f"{kind}:{getattr(w, name)}",
            "year_start": YEAR,
            "file": SimpleUploadedFile("lich.xlsx", content, content_type=XLSX),
        },
    )


def test_import_round_trip_from_the_downloaded_template(w, login):
    client = login("unit_a_admin")
    assert client.get(f"/manage/windows/import/?year={YEAR}").status_code == 200
    response = client.get(f"/manage/windows/import/template.xlsx?year={YEAR}")
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    wb = openpyxl.load_workbook(io.BytesIO(response.content))
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]] == ["Loại dữ liệu", "Khối", "Mở lúc", "Khóa lúc", "Lý do"]
    tz = timezone.get_default_timezone()
    ws.append(
        [
            "Điểm, nhận xét học kì I",
            "6, 7",
            dt.datetime(YEAR, 9, 5, 7, 0),
            dt.datetime(YEAR + 1, 1, 10, 17, 0),
            "Kế hoạch năm học",
        ]
    )
    ws.append(["Rèn luyện", "THCS", f"05/09/{YEAR} 07:00", f"31/05/{YEAR + 1}", ""])
    ws.append(["whole_year", None, f"01/08/{YEAR} 00:00", f"15/07/{YEAR + 1} 17:00", "Khóa sổ"])
    out = io.BytesIO()
    wb.save(out)
    response = _upload(client, w, out.getvalue())
    assert response.status_code == 200, response.content.decode()[:2000]
    assert 'id="import-ok"' in response.content.decode()
    windows = {x.category: x for x in Window.objects.filter(unit_id=w.unit_a)}
    assert set(windows) == {"scores_1", "conduct", "whole_year"}
    assert windows["scores_1"].grades == [6, 7] and windows["conduct"].grades == [6, 7, 8, 9]
    assert windows["scores_1"].opens_at == dt.datetime(YEAR, 9, 5, 7, 0, tzinfo=tz)
    assert timezone.localtime(windows["conduct"].locks_at).strftime("%d/%m/%Y %H:%M") == f"31/05/{YEAR + 1} 23:59"
    assert all(x.tier == "unit" and x.year_start == YEAR for x in windows.values())


def test_a_broken_row_changes_nothing_and_is_reported_per_row(w, login):
    province_window(w, -24 * 30, 24 * 30)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Tiêu đề tùy ý"])
    ws.append(["Loại dữ liệu", "Khối", "Mở lúc", "Khóa lúc", "Lý do"])
    ws.append(["attendance", "", local(-1), local(1), "đúng"])  # line 3: fine
    ws.append(["profile", "", local(1), local(-1), "khóa trước khi mở"])  # line 4
    ws.append(["Điểm thi", "", local(-1), local(1), ""])  # line 5: unknown category
    ws.append(["scores_1", "13", local(-1), local(1), ""])  # line 6: bad grade
    ws.append(["scores_1", "", local(-24 * 60), local(1), "rộng hơn Sở"])  # line 7: widening
    ws.append(["scores_2", "", "ngày mai", local(1), ""])  # line 8: unreadable time
    out = io.BytesIO()
    wb.save(out)
    before = (Window.objects.count(), PlatformAuditEntry.objects.count())
    response = _upload(login("unit_a_admin"), w, out.getvalue())
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="import-failed"' in body
    codes = dict(re.findall(r'<tr data-line="(\d+)" class="row-error">.*?data-code="([^"]+)"', body, re.S))
    assert codes == {
        "4": "windows.lock_before_open",
        "5": "windows.import_category",
        "6": "windows.import_grades",
        "7": "windows.widening",
        "8": "windows.import_opens",
    }
    assert '<tr data-line="3">' in body and "Hợp lệ (chưa lưu vì có dòng lỗi)" in body
    assert (Window.objects.count(), PlatformAuditEntry.objects.count()) == before


def test_import_outside_ones_scope_and_unreadable_files(w, login):
    y = YEAR
    wb = openpyxl.Workbook()
    wb.active.append(["Loại dữ liệu", "Khối", "Mở lúc", "Khóa lúc", "Lý do"])
    wb.active.append(["scores_1", "", f"05/09/{y} 07:00", f"10/01/{y + 1} 17:00", ""])
    out = io.BytesIO()
    wb.save(out)
    assert _upload(login("unit_a_admin"), w, out.getvalue(), "unit:unit_b").status_code == 403  # not a choice
    assert login("teacher_a").get("/manage/windows/import/").status_code == 403
    response = _upload(login("unit_a_admin"), w, b"not a workbook")
    assert response.status_code == 400 and 'id="import-error"' in response.content.decode()
    empty = openpyxl.Workbook()
    empty.active.append(["Loại dữ liệu", "Khối", "Mở lúc", "Khóa lúc", "Lý do"])
    out = io.BytesIO()
    empty.save(out)
    assert "Tệp không có dòng lịch nào" in _upload(login("unit_a_admin"), w, out.getvalue()).content.decode()
    assert not Window.objects.exists()


# ------------------------------------------------------------------------------------- the school's page


def test_principal_page_lists_windows_with_state_and_locks_early(w, login, klass_now):
    open_now = province_window(w, -24 * 10, 24 * 10, "scores_1")
    locked = province_window(w, -24 * 10, -1, "conduct")
    other = unit_window(w, "unit_b", -1, 1, "attendance")
    client = login("principal_a", SCHOOL_A_HOST)
    body = client.get("/windows/").content.decode()
    assert f'<tr data-window="{open_now.pk}" data-state="open">' in body
    assert f'<tr data-window="{locked.pk}" data-state="locked">' in body
    assert f'data-window="{other.pk}"' not in body and 'id="timeline"' in body
    assert 'id="early-lock"' in body and 'id="exception-request"' in body

    # Early lock: opening left blank starts where the province opened, so it only narrows.
    response = client.post("/windows/lock/", {"category": "scores_1", "locks_at": local(24), "reason": "Khóa sớm HK I"})
    assert response.status_code == 302, response.content.decode()[:3000]
    lock = Window.objects.get(tier="school")
    assert lock.school_id == w.school_a and lock.opens_at == open_now.opens_at
    # Locking later than the province is refused, and nothing is saved.
    response = client.post("/windows/lock/", {"category": "scores_1", "locks_at": local(24 * 20), "reason": "Quá"})
    assert response.status_code == 400 and Window.objects.filter(tier="school").count() == 1
    # Cancelling one's own early lock.
    assert client.post(f"/windows/{lock.pk}/cancel/").status_code == 302
    assert Window.objects.get(pk=lock.pk).cancelled_at is not None


def test_principal_requests_an_exception_and_sees_its_status(w, login, klass_now):
    lock = province_window(w, -24 * 10, -1, "scores_1")
    client = login("principal_a", SCHOOL_A_HOST)
    page = client.get("/windows/").content.decode()
    assert f'value="{klass_now.school_class.pk}"' in page and "Nguyễn Văn An" in page
    data = {
        "window": lock.pk,
        "classes": [klass_now.school_class.pk],
        "students": [klass_now.other_students[0]],
        "until": local(24),
        "reason": "Giáo viên ốm",
    }
    assert client.post("/windows/requests/", {**data, "until": local(24 * 60)}).status_code == 400
    assert client.post("/windows/requests/", {**data, "classes": [], "students": []}).status_code == 400
    assert not WindowException.objects.exists()
    response = client.post("/windows/requests/", data)
    assert response.status_code == 302
    exc = WindowException.objects.get()
    assert exc.class_ids == [klass_now.school_class.pk] and exc.student_ids == [klass_now.other_students[0]]
    page = client.get("/windows/").content.decode()
    assert f'data-exception="{exc.pk}" data-status="requested"' in page and "6A1" in page and "Đỗ Lớp Khác" in page
    svc.exception_decide(actor=w.account("province_admin"), exception=exc, approve=True, note="Đồng ý")
    page = client.get("/windows/").content.decode()
    assert f'data-exception="{exc.pk}" data-status="approved"' in page and "Đồng ý" in page


def test_school_page_refusals(w, login, klass_now):
    lock = province_window(w, -5, -1)
    assert login("teacher_a", SCHOOL_A_HOST).get("/windows/").status_code == 403
    assert login("principal_b", SCHOOL_A_HOST).get("/windows/").status_code == 403
    vice = login("vice_a", SCHOOL_A_HOST)
    page = vice.get("/windows/")
    assert page.status_code == 200 and 'id="early-lock"' not in page.content.decode()
    assert vice.post("/windows/lock/", {"category": "scores_1", "locks_at": local(1), "reason": "x"}).status_code == 403
    assert (
        vice.post(
            "/windows/requests/",
            {"window": lock.pk, "classes": [klass_now.school_class.pk], "until": local(24), "reason": "x"},
        ).status_code
        == 403
    )
    # Principal B cannot cancel school A's lock from its own site.
    own = svc.window_create(
        actor=None,
        category="scores_2",
        year_start=YEAR,
        opens_at=at(-1),
        locks_at=at(1),
        school=School.objects.get(pk=w.school_a),
    )
    login("principal_b", SCHOOL_B_HOST).post(f"/windows/{own.pk}/cancel/")
    assert Window.objects.get(pk=own.pk).cancelled_at is None
    assert not WindowException.objects.exists()


def test_pages_render_in_english_too(w, login, klass_now):
    from django.conf import settings

    province_window(w)
    for name, host, path in [
        ("province_admin", "hocba.localhost", "/manage/windows/"),
        ("province_admin", "hocba.localhost", "/manage/windows/new/"),
        ("province_admin", "hocba.localhost", "/manage/windows/exceptions/"),
        ("province_admin", "hocba.localhost", "/manage/windows/import/"),
        ("principal_a", SCHOOL_A_HOST, "/windows/"),
    ]:
        client = login(name, host)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        response = client.get(path)
        assert response.status_code == 200, path
        assert 'lang="en"' in response.content.decode(), path

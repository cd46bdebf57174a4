"""The board's traffic lights, flags, unit groups and “remind late schools”: the next lock of each school from
hand-made windows (unit, province and school tiers, a grade filter, a category already closed by an earlier lock),
its completion from hand-made rollups, the light and the “late for the next lock” filter; the schools and accounts
far above the province's usual rate; the province's own schools as their own group row; reminders sent once a day
per school and window, each in the platform audit trail; every bad input refused with nothing changed."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone
from hocba.kernel.schoolyear import current_school_year
from openpyxl import load_workbook

from tenants import provisioning
from tenants.models import (
    Notification,
    PlatformAuditEntry,
    School,
    SchoolPlacement,
    SchoolRollup,
    Window,
    WindowException,
)
from tenants.selectors import boards
from tenants.selectors.access import access_for
from tenants.views import home
from tests.support import DAY, client_for, page_text

YEAR = current_school_year()
URL = "/manage/board/"
REMIND = "/manage/board/remind/"
T = boards.Thresholds(
    warn_days=14, alert_days=3, done_pct=95, alert_pct=60, flag_factor=3, flag_min_edits=10, flag_min_exceptions=3
)


def at(days: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=days)


def rollup(school_id: int, **figures) -> SchoolRollup:
    row, _ = SchoolRollup.objects.update_or_create(school_id=school_id, year_start=YEAR, defaults=figures)
    return row


def window(category: str, *, locks: float, unit: int | None = None, school: int | None = None, **extra) -> Window:
    tier = "school" if school else extra.pop("tier", "unit")
    return Window.objects.create(
        tier=tier,
        unit_id=unit,
        school_id=school,
        category=category,
        year_start=YEAR,
        opens_at=at(-60),
        locks_at=at(locks),
        reason="Lịch thử nghiệm",
        **extra,
    )


def the_board(w, name: str = "province_admin", **params) -> boards.Board:
    acc = access_for(w.account(name))
    filters = boards.board_filters(params, acc=acc)
    years, _default = boards.board_years(acc.schools_with(boards.CAPABILITY), current=YEAR)
    return boards.board(
        acc, year=YEAR, years=years, head=provisioning.migration_head().digest, filters=filters, thresholds=T
    )


def by_id(board: boards.Board) -> dict[int, boards.SchoolRow]:
    return {r.id: r for r in board.schools}


def test_light_rule():
    assert boards.light_of(None, 2, T) == boards.NO_LOCK  # nothing to measure
    assert boards.light_of(50, None, T) == boards.NO_LOCK  # no lock ahead
    assert boards.light_of(95, 1, T) == boards.GREEN  # done enough, however near
    assert boards.light_of(0, 20, T) == boards.GREEN  # the lock is far
    assert boards.light_of(94, 3, T) == boards.RED  # imminent and not done
    assert boards.light_of(59, 10, T) == boards.RED  # near and far from done
    assert boards.light_of(60, 10, T) == boards.AMBER
    assert boards.light_of(94, 14, T) == boards.AMBER


@pytest.fixture
def lights(w):
    """School A (unit A): term I sheets 5/10; its unit's term I lock in 2 days (the province's in 20 days does not
    matter: the earliest lock wins). School B (unit B): term I sheets 8/10 and its unit locked term I yesterday
    (closed), so its next lock is the province's conduct lock in 10 days, with 40 of 50 students' conduct in."""
    rollup(w.school_a, students=100, sheets_required_term1=10, sheets_done_term1=5, profile_complete=100)
    rollup(w.school_b, students=50, sheets_required_term1=10, sheets_done_term1=8, conduct_done_term1=40)
    a = window("scores_1", locks=2, unit=w.unit_a)
    window("scores_1", locks=20, unit=w.province, tier="province")
    window("scores_1", locks=-1, unit=w.unit_b)
    conduct = window("conduct", locks=10, unit=w.province, tier="province")
    window("attendance", locks=1, unit=w.province, tier="province")  # not measured: never the next lock
    window("scores_2", locks=1, unit=w.province, tier="province", grades=[1, 2, 3, 4, 5])  # primary grades only
    return {"a": a, "conduct": conduct}


def test_next_lock_completion_and_light_per_school(w, lights):
    rows = by_id(the_board(w))
    a, b = rows[w.school_a], rows[w.school_b]
    assert (a.next_window_id, a.next_category, a.completion, a.light) == (lights["a"].pk, "scores_1", 50, boards.RED)
    assert a.late and a.light_label == "Chậm tiến độ"
    assert (b.next_window_id, b.next_category, b.light) == (lights["conduct"].pk, "conduct", boards.AMBER)
    conduct_term_two = timezone.localtime(lights["conduct"].locks_at).date() >= dt.date(YEAR + 1, 2, 1)
    assert b.completion == (0 if conduct_term_two else 80)
    # a school-tier lock of the profile, earlier than everything else: school A's profile is complete → green
    window("profile", locks=0.5, school=w.school_a)
    a = by_id(the_board(w))[w.school_a]
    assert (a.next_category, a.completion, a.light) == ("profile", 100, boards.GREEN) and not a.late
    # the year-end lock judges approved records over the students
    Window.objects.filter(school_id=w.school_a).delete()
    Window.objects.filter(unit_id=w.unit_a).delete()
    window("year_end", locks=1, unit=w.unit_a)
    rollup(w.school_a, records_draft=30, records_approved=60, records_signed=10)
    a = by_id(the_board(w))[w.school_a]
    assert (a.next_category, a.completion, a.light) == ("year_end", 70, boards.RED)


def test_late_filter_light_filter_and_page(w, lights):
    assert [r.id for r in the_board(w, late="1").schools] == [w.school_a, w.school_b]
    assert [r.id for r in the_board(w, light="red").schools] == [w.school_a]
    assert [r.id for r in the_board(w, light="amber").schools] == [w.school_b]
    assert the_board(w, light="green").schools == ()
    rollup(w.school_b, conduct_done_term1=50, conduct_done_term2=50)
    assert [r.id for r in the_board(w, late="1").schools] == [w.school_a]
    assert [r.id for r in the_board(w, late="1", sort="-light").schools] == [w.school_a]
    board = the_board(w, unit=str(w.unit_a))
    assert board.units == () or all(u.late <= 1 for u in board.units)
    assert board.unit.late == 1 and board.unit.red == 1
    html = page_text(client_for(w.account("province_admin")).get(URL, {"late": "1"}))
    assert 'data-light="red"' in html and "Chậm tiến độ" in html and "Trường THCS An Thạnh" in html
    assert "Trường THCS Bình Minh</a>" not in html.split('class="pin board-schools"', 1)[1]
    # the light in words, not only colour; the rule's thresholds are stated on the page
    assert "● Chậm tiến độ" in html and "95 phần trăm" in html


def test_thresholds_come_from_settings(w, lights, settings):
    settings.HOCBA_BOARD_DONE_PCT = 50  # school A's 50 per cent is now enough
    acc = access_for(w.account("province_admin"))
    data = boards.board(acc, year=YEAR, years=(YEAR,), head="", filters=boards.board_filters({}, acc=acc))
    assert by_id(data)[w.school_a].light == boards.GREEN


def extra_school(unit_id: int, i: int, **figures) -> School:
    school = School.objects.create(
        schema_name=f"s_lights_{i}",
        moet_code=f"9881{i:04d}",
        name=f"Trường THPT Số {i}",
        slug=f"lights-so-{i}",
        levels=["upper_secondary"],
        created_on=DAY,
    )
    SchoolPlacement.objects.create(school=school, unit_id=unit_id, valid_from=DAY)
    rollup(school.pk, **figures)
    return school


def test_province_schools_have_their_own_group_row(w):
    direct = [extra_school(w.province, i, students=30 + i) for i in range(2)]
    rollup(w.school_a, students=100)
    data = the_board(w)
    units = {(u.id, u.direct): u for u in data.units}
    assert units[w.province, True].schools == 2 and units[w.province, True].students == 61
    assert units[w.province, True].name == "Trường trực thuộc Sở GD&ĐT Thử nghiệm"
    assert units[w.unit_a, False].students == 100
    only = the_board(w, unit=str(w.province), direct="1")
    assert {r.id for r in only.schools} == {s.pk for s in direct}
    html = page_text(client_for(w.account("province_admin")).get(URL))
    assert f"unit={w.province}&amp;direct=1" in html
    # a unit officer's board has no such row, and cannot ask for it
    assert all(not u.direct for u in the_board(w, "unit_a_admin").units)


def test_flags_far_above_the_province_median(w):
    # ten ordinary schools: 1 edit per 100 students, no exception → the medians are 1.0 and 0
    for i in range(10):
        extra_school(w.unit_b, 10 + i, students=100, edits_after_approval=1)
    rollup(w.school_a, students=100, edits_after_approval=40)  # 40 per 100: far above, and ≥ 10
    rollup(w.school_b, students=100, edits_after_approval=2)
    lock = window("scores_1", locks=-2, unit=w.unit_a)
    for _ in range(4):
        WindowException.objects.create(
            window=lock,
            school_id=w.school_a,
            class_ids=[1],
            until=at(2),
            reason="Nhập bù",
            requested_by_id=w.accounts["principal_a"],
            status="approved",
        )
    flags = the_board(w).flags
    kinds = {(f.kind, f.school_id, f.account_id) for f in flags}
    assert ("edits", w.school_a, None) in kinds
    assert ("exceptions", w.school_a, None) in kinds
    assert ("exceptions", w.school_a, w.accounts["principal_a"]) in kinds
    assert all(f.school_id != w.school_b for f in flags)
    edits = next(f for f in flags if f.kind == "edits")
    assert (edits.value, edits.rate, edits.median) == (40, 40.0, 1.0)
    html = page_text(client_for(w.account("province_admin")).get(URL))
    section = html.split('id="board-flags"', 1)[1]
    assert "thcs-an-thanh.hocba.localhost" in section and "/history/" in section
    assert f"/history/?teacher={w.accounts['principal_a']}" in section
    # unit B's officer sees no flag of unit A's school
    assert all(f.school_id != w.school_a for f in the_board(w, "unit_b_admin").flags)
    # the flags export
    client = client_for(w.account("province_admin"))
    export = client.get(URL, {"format": "xlsx", "table": "flags"})
    rows = [r for r in load_workbook(io.BytesIO(export.content)).active.iter_rows(min_row=5, values_only=True)]
    assert sum(1 for r in rows if r[0] == "Trường THCS An Thạnh") == 3


def test_units_export_has_the_units_rows(w, lights):
    client = client_for(w.account("province_admin"))
    export = client.get(URL, {"format": "xlsx", "table": "units"})
    assert export.status_code == 200
    rows = [r for r in load_workbook(io.BytesIO(export.content)).active.iter_rows(min_row=5, values_only=True)]
    names = [r[0] for r in rows if r[0]]
    assert names == ["Phường Bình Minh", "Xã An Thạnh"] or set(names) == {"Phường Bình Minh", "Xã An Thạnh"}
    an_thanh = next(r for r in rows if r[0] == "Xã An Thạnh")
    assert an_thanh[1:5] == (1, 100, 0, 1)  # one school, 100 students, no classes counted, one late


# --- remind late schools ---------------------------------------------------------------------------------


def test_remind_late_schools_once_a_day_and_audited(w, lights):
    client = client_for(w.account("province_admin"))
    confirm = page_text(client.get(REMIND, {"unit": w.unit_a}))
    assert "Trường THCS An Thạnh" in confirm and "Bình Minh" not in confirm and 'name="confirm"' in confirm
    before = Notification.objects.count()
    response = client.post(REMIND, {"unit": w.unit_a, "late": "1", "confirm": "1", "year": YEAR})
    assert response.status_code == 302 and response["Location"].startswith(URL)
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert "Đã nhắc 1 trường, 0 trường đã được nhắc hôm nay." in texts
    notices = Notification.objects.filter(account_id=w.accounts["principal_a"], key__startswith="board-remind:")
    assert notices.count() == 1 and Notification.objects.count() == before + 1
    notice = notices.get()
    assert notice.key == f"board-remind:{lights['a'].pk}:{timezone.localdate().isoformat()}"
    assert "50 phần trăm" in notice.body and "Trường THCS An Thạnh" in notice.body
    entries = PlatformAuditEntry.objects.filter(action="board.remind")
    assert entries.count() == 1
    entry = entries.get()
    assert (entry.school_id, entry.actor_id, entry.after["window_id"]) == (
        w.school_a,
        w.accounts["province_admin"],
        lights["a"].pk,
    )
    # again the same day: nothing sent, nothing audited, said so
    again = client.post(REMIND, {"unit": w.unit_a, "confirm": "1"})
    assert "Đã nhắc 0 trường, 1 trường đã được nhắc hôm nay." in [str(m) for m in get_messages(again.wsgi_request)]
    assert Notification.objects.count() == before + 1 and entries.count() == 1
    # the whole province: school B's principal now, A already today
    both = client.post(REMIND, {"confirm": "1"})
    assert "Đã nhắc 1 trường, 1 trường đã được nhắc hôm nay." in [str(m) for m in get_messages(both.wsgi_request)]
    assert Notification.objects.filter(account_id=w.accounts["principal_b"], key__startswith="board-remind:").count()
    assert PlatformAuditEntry.objects.filter(action="board.remind").count() == 2
    # the platform log reads it as a sentence
    log = page_text(client.get("/manage/audit/", {"action": "board.remind"}))
    assert "đã nhắc tiến độ nhập liệu trước hạn khóa" in log


def test_remind_refusals_change_nothing(w, lights):
    state = lambda: (Notification.objects.count(), PlatformAuditEntry.objects.count())  # noqa: E731
    before = state()
    admin = client_for(w.account("province_admin"))
    unconfirmed = admin.post(REMIND, {})
    assert unconfirmed.status_code == 302
    assert "Hãy xác nhận trước khi gửi lời nhắc." in [str(m) for m in get_messages(unconfirmed.wsgi_request)]
    assert admin.post(REMIND, {"confirm": "1", "light": "purple"}).status_code == 400
    officer = client_for(w.account("unit_a_admin"))
    refused = officer.post(REMIND, {"confirm": "1", "unit": w.unit_b})
    assert refused.status_code == 404 and "Bình Minh" not in page_text(refused)
    assert client_for(w.account("inspector")).post(REMIND, {"confirm": "1"}).status_code == 403
    assert client_for(w.account("principal_a")).post(REMIND, {"confirm": "1"}).status_code == 403
    assert state() == before
    # the unit officer reminds only their own schools
    done = officer.post(REMIND, {"confirm": "1"})
    assert "Đã nhắc 1 trường, 0 trường đã được nhắc hôm nay." in [str(m) for m in get_messages(done.wsgi_request)]
    assert set(PlatformAuditEntry.objects.filter(action="board.remind").values_list("school_id", flat=True)) == {
        w.school_a
    }


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"light": "purple"}, "Mức tiến độ “purple” không có."),
        ({"late": "yes"}, "Giá trị “yes” không hợp lệ."),
        ({"direct": "1"}, "Giá trị “direct” không hợp lệ."),
        ({"cols": "salaries"}, "Nhóm cột “salaries” không có."),
        ({"table": "students"}, "Bảng “students” không có."),
        ({"unit": "99999999"}, "Không tìm thấy đơn vị này trong phạm vi theo dõi của bạn."),
        ({"school": "99999999"}, "Không tìm thấy trường này trong phạm vi theo dõi của bạn."),
    ],
)
def test_new_bad_input_is_refused_in_both_languages(w, params, fragment):
    client = client_for(w.account("province_admin"))
    response = client.get(URL, params)
    assert response.status_code in (400, 404)
    assert fragment in page_text(response)
    english = page_text(client.get(URL, params, HTTP_ACCEPT_LANGUAGE="en"))
    assert "does not exist" in english or "not valid" in english or "not found" in english, english[-1500:]


def test_column_chooser(w, lights):
    client = client_for(w.account("province_admin"))
    default = page_text(client.get(URL))
    assert "Bảng điểm HK I" in default and "Đang nhập" in default and "Ngoại lệ đã duyệt</a>" not in default
    chosen = page_text(client.get(URL, {"cols": ["exceptions", "none"]}))
    head = chosen.split('class="pin board-schools"', 1)[1].split("</thead>", 1)[0]
    assert "Ngoại lệ đã duyệt" in head and "Đang nhập" not in head and "Bảng điểm HK I" not in head
    bare = page_text(client.get(URL, {"cols": "none"}))
    head = bare.split('class="pin board-schools"', 1)[1].split("</thead>", 1)[0]
    assert head.count('<th scope="col"') == 5  # school, light, next lock, students, classes


def test_signed_out_is_sent_to_sign_in_everywhere(w):
    client = Client(HTTP_HOST="hocba.localhost")
    for path in (URL, REMIND, f"/manage/board/schools/{w.school_a}/"):
        response = client.get(path)
        assert response.status_code == 302 and "login" in response["Location"]
    assert client.post(REMIND, {"confirm": "1"}).status_code == 302
    assert not PlatformAuditEntry.objects.filter(action="board.remind").exists()


def test_the_home_lists_the_late_schools_red_first_with_their_count(w, lights, monkeypatch):
    html = page_text(client_for(w.account("province_admin")).get("/"))
    late = html.split('id="home-late"', 1)[1].split("</ul>", 1)[0]
    # school A red, school B amber: red first, the count beside the heading, no "and N more"
    assert late.index(f'data-school="{w.school_a}"') < late.index(f'data-school="{w.school_b}"')
    assert "● Chậm tiến độ" in late and "◐" in late
    assert 'late=1">Trường chậm so với hạn khóa tới</a> <span class="tag due">2</span>' in html
    assert "trường khác</a>" not in html
    # one shown: the red one, and the other counted
    monkeypatch.setattr(home, "HOME_LATE_SHOWN", 1)
    html = page_text(client_for(w.account("province_admin")).get("/"))
    late = html.split('id="home-late"', 1)[1].split("</ul>", 1)[0]
    assert f'data-school="{w.school_a}"' in late and f'data-school="{w.school_b}"' not in late
    assert "và 1 trường khác</a>" in html

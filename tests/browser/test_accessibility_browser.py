"""Accessibility basics in a real Chromium against a real server (see conftest.py for the set-up).

* On the main pages of each role — the sign-in page, the Sở's home and its window, request, monthly-duty, log, school
  and job pages, the principal's school home, class, exemption, window and history pages, the homeroom teacher's
  class, attendance and conduct pages, the subject teacher's grade sheet, the parent's children and record — every
  visible ``input``, ``select`` and ``textarea`` has an accessible name: a ``<label for>``, a wrapping label,
  ``aria-label`` or ``aria-labelledby`` (computed in the page).
* The refusal colour (``--bad``: the error message, the locked banner, every text drawn in it) and the muted text
  (``--muted``) have a contrast ratio of at least 4.5:1 against the background they are actually drawn on (WCAG
  relative luminance computed from ``getComputedStyle``, the backgrounds of the element and its ancestors composed).
* On the grade sheet, Tab moves focus cell by cell in reading order (row by row, left to right) and never into a
  read-only cell (an approved record's row), Shift+Tab goes back the same way, the arrow keys and Enter move to the
  neighbouring cell, and Tab past the last cell leaves the sheet.
* The Sở's, the unit's and the principal's homes, the parent's record, the grade sheet and the class page at 390×844
  and 1366×768 do not scroll sideways. Screenshots: ``/tmp/browser-shots/a11y-*.png``.
"""

from __future__ import annotations

import json

import pytest

from tests.browser.test_phone_pages_browser import assert_fits
from tests.browser.test_records_browser import (
    HOMEROOM_TEACHER,
    OTHER_SCHOOL,
    PARENT,
    PRINCIPAL,
    SCHOOL,
    SUBJECT_TEACHER,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.server]

SCHEMA = "s_" + SCHOOL.replace("-", "_")
PROVINCE_ADMIN = "so.quantri"  # TOTP
UNIT_STAFF = "namloi.chuyenvien"
TOTP = {PROVINCE_ADMIN, PRINCIPAL}
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1366, "height": 768}
MINIMUM = 4.5
NEXT_YEAR = 2026  # the demo's year is 2025: windows of the next year change nothing the other tests write

# Every visible form field without an accessible name (label for / wrapping label / aria-label / aria-labelledby).
UNNAMED = """() => {
  const skip = new Set(['hidden', 'submit', 'button', 'reset', 'image']);
  const out = [];
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (skip.has((el.getAttribute('type') || '').toLowerCase())) continue;
    const box = el.getBoundingClientRect();
    if (!el.checkVisibility({visibilityProperty: true}) || (box.width === 0 && box.height === 0)) continue;
    let name = '';
    const by = el.getAttribute('aria-labelledby');
    if (by) name = by.split(/\\s+/).map((id) => (document.getElementById(id) || {}).textContent || '').join(' ');
    if (!name.trim()) name = el.getAttribute('aria-label') || '';
    if (!name.trim() && el.labels) name = [...el.labels].map((label) => label.textContent).join(' ');
    if (!name.trim()) out.push(el.outerHTML.slice(0, 160));
  }
  return out;
}"""

# The contrast of every visible text drawn in --bad or --muted, or inside an error message, against the background it
# is actually drawn on; and of --muted on white and on the page's background.
CONTRAST = """(errorSelector) => {
  const parse = (text) => {
    const m = text.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const luminance = (c) => 0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2]);
  const ratio = (a, b) => {
    const x = luminance(a), y = luminance(b);
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
  };
  const over = (top, bottom) => [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3])).concat([1]);
  const background = (el) => {
    const layers = [];
    for (let n = el; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let bg = [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
    return bg;
  };
  const probe = (value) => {
    const el = document.createElement('span');
    el.style.color = value;
    document.body.appendChild(el);
    const c = getComputedStyle(el).color;
    el.remove();
    return c;
  };
  const bad = probe('var(--bad)'), muted = probe('var(--muted)');
  const hex = (c) => '#' + c.slice(0, 3).map((v) => Math.round(v).toString(16).padStart(2, '0')).join('');
  const where = (el) => {
    const parts = [];
    for (let n = el; n && parts.length < 3 && n !== document.body; n = n.parentElement) {
      const classes = n.classList.length ? '.' + [...n.classList].join('.') : '';
      parts.unshift(n.tagName.toLowerCase() + (n.id ? '#' + n.id : '') + classes);
    }
    return parts.join(' > ');
  };
  const seen = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (['OPTION', 'SCRIPT', 'STYLE', 'TITLE'].includes(el.tagName)) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const box = el.getBoundingClientRect();
    if (!el.checkVisibility({visibilityProperty: true}) || box.width === 0 || box.height === 0) continue;
    const style = getComputedStyle(el);
    const kind = style.color === bad ? 'bad' : style.color === muted ? 'muted'
      : el.closest(errorSelector) ? 'error' : '';
    if (!kind) continue;
    const bg = background(el);
    const fg = over(parse(style.color), bg);
    seen.push({kind, where: where(el), text: el.textContent.trim().slice(0, 50), fg: hex(fg), bg: hex(bg),
      ratio: Math.round(ratio(fg, bg) * 100) / 100, error: !!el.closest(errorSelector)});
  }
  const page = background(document.body);
  return {seen, muted_on_white: ratio(parse(muted), [255, 255, 255, 1]), muted_on_page: ratio(parse(muted), page),
    page: hex(page)};
}"""

ERRORS = ".errorlist, .messages li.error, .window-state.locked, .notice.error, .sheet-errors, .field-error, span.error"

# The editable cells of the grade sheet in reading order (rows top to bottom, cells left to right), as their keys.
CELLS = """() => [...document.querySelectorAll('#sheet tbody tr')].flatMap((tr) =>
  [...tr.querySelectorAll('td.cell input, td.cell textarea')]
    .filter((el) => !el.readOnly && !el.disabled && el.checkVisibility())
    .map((el) => el.dataset.student + ':' + el.dataset.column))"""
FOCUSED = """() => { const el = document.activeElement;
  if (!el) return '';
  return el.dataset && el.dataset.column ? el.dataset.student + ':' + el.dataset.column : el.tagName; }"""


def shot(page, shots, name: str) -> None:
    page.screenshot(path=str(shots / f"a11y-{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def people(site, browser) -> dict[str, dict]:
    """Each person signed in once for the module (a TOTP code is accepted once): their browser storage."""
    states = {}
    for name in (PROVINCE_ADMIN, UNIT_STAFF, PRINCIPAL, HOMEROOM_TEACHER, SUBJECT_TEACHER, PARENT):
        context = browser.new_context(locale="vi-VN", viewport=DESK)
        context.set_default_timeout(10_000)
        try:
            sign_in(context.new_page(), site, name, totp=name in TOTP)
            states[name] = context.storage_state()
        finally:
            context.close()
    return states


@pytest.fixture(scope="module")
def ids(site) -> dict[str, int]:
    ((klass,),) = site.sql(
        f"select c.id from {SCHEMA}.schools_schoolclass c join {SCHEMA}.schools_schoolyear y on y.id = c.year_id"
        " where c.name = '6A1' and y.start_year = 2025"
    )
    ((subject,),) = site.sql(
        f"select id from {SCHEMA}.schools_subject where code = 'toan' and level = 'lower_secondary'"
    )
    ((child,),) = site.sql(
        f"select g.student_id from {SCHEMA}.schools_guardianlink g join public.tenants_account a on a.id = g.account_id"
        " where a.username = %s",
        (PARENT,),
    )
    ((school,),) = site.sql("select id from public.tenants_school where slug = %s", (SCHOOL,))
    ((province, admin),) = site.sql(
        "select m.unit_id, a.id from public.tenants_membership m join public.tenants_account a on a.id = m.account_id"
        " where a.username = %s",
        (PROVINCE_ADMIN,),
    )
    return {"class": klass, "subject": subject, "child": child, "school": school, "province": province, "admin": admin}


def record_state(site, student: int) -> tuple[int, str]:
    ((record, state),) = site.sql(
        f"select r.id, r.state from {SCHEMA}.schools_recordbook r join {SCHEMA}.schools_schoolyear y"
        " on y.id = r.year_id where r.student_id = %s and y.start_year = 2025",
        (student,),
    )
    return record, state


def set_record_state(site, record: int, state: str) -> None:
    site.sql(f"update {SCHEMA}.schools_recordbook set state = %s where id = %s returning id", (state, record))


def test_fields_are_named_and_the_refusal_and_muted_colours_read_on_the_main_pages(
    site, new_context, shots, people, ids
):
    klass, child = ids["class"], ids["child"]
    # A finished job with a failed row (its page and its error outcome), and a lock of the school's conduct that has
    # passed (the locked banner): both public rows of this test only, removed at the end.
    ((job,),) = site.sql(
        "insert into public.tenants_backgroundjob (kind, unit_id, requested_by_id, capability, state, total, done, ok,"
        " failed, params, summary, error, input_name, attempts, created_at, started_at, finished_at, updated_at)"
        " values ('schools.provision', %s, %s, 'schools.manage', 'partly_done', 2, 2, 1, 1, '{}', %s, '{}',"
        " 'truong.csv', 1, now(), now(), now(), now()) returning id",
        (
            ids["province"],
            ids["admin"],
            json.dumps({"vi": "Đã tạo 1 trường, 1 dòng lỗi.", "en": "1 school created, 1 row failed."}),
        ),
    )
    site.sql(
        'insert into public.tenants_backgroundjobrow (job_id, number, key, "group", outcome, message, message_en,'
        " data) values (%s, 1, 'Trường THCS Thử A (99000901)', 'Xã Nam Lợi', 'created', '', '', '{}'),"
        " (%s, 2, 'Trường THCS Thử B (99000902)', 'XX-99', 'error', 'Không có đơn vị mã XX-99.',"
        " 'No unit with code XX-99.', '{}') returning id",
        (job, job),
    )
    ((lock,),) = site.sql(
        "insert into public.tenants_window (tier, school_id, grades, category, year_start, opens_at, locks_at, reason,"
        " created_at) values ('school', %s, '{}', 'conduct', 2025, now() - interval '60 days',"
        " now() - interval '1 day', 'Khóa thử', now()) returning id",
        (ids["school"],),
    )
    record, state = record_state(site, child)
    set_record_state(site, record, "approved")  # the parent reads an approved record
    pages = [
        (None, None, "/accounts/login/"),
        (PROVINCE_ADMIN, None, "/"),
        (PROVINCE_ADMIN, None, "/manage/windows/"),
        (PROVINCE_ADMIN, None, "/manage/windows/exceptions/"),
        (PROVINCE_ADMIN, None, "/manage/monthly-duty/?month=2026/11"),  # refused: the error message
        (PROVINCE_ADMIN, None, "/manage/audit/"),
        (PROVINCE_ADMIN, None, "/manage/schools/"),
        (PROVINCE_ADMIN, None, f"/jobs/{job}/"),
        (PRINCIPAL, SCHOOL, "/"),
        (PRINCIPAL, SCHOOL, f"/classes/{klass}/"),
        (PRINCIPAL, SCHOOL, f"/classes/{klass}/exemptions/"),
        (PRINCIPAL, SCHOOL, "/windows/"),
        (PRINCIPAL, SCHOOL, "/history/"),
        (HOMEROOM_TEACHER, SCHOOL, f"/classes/{klass}/"),
        (HOMEROOM_TEACHER, SCHOOL, f"/classes/{klass}/attendance/"),
        (HOMEROOM_TEACHER, SCHOOL, f"/classes/{klass}/attendance/month/"),
        (HOMEROOM_TEACHER, SCHOOL, f"/classes/{klass}/conduct/1/"),  # locked: the banner
        (SUBJECT_TEACHER, SCHOOL, f"/classes/{klass}/sheets/{ids['subject']}/1/"),
        (PARENT, SCHOOL, "/my-children/"),
        (PARENT, SCHOOL, f"/students/{child}/record/"),
    ]
    unnamed, low, kinds, report = [], [], set(), []
    try:
        contexts = {}
        for person, slug, path in pages:
            if person not in contexts:
                options = {"storage_state": people[person]} if person else {}
                contexts[person] = new_context(**options).new_page()
            page = contexts[person]
            response = page.goto(site.url(slug, path))
            assert response is not None and response.ok, f"{person} {path}: {response and response.status}"
            where = f"{person or 'anonymous'} {path}"
            unnamed += [f"{where}: {field}" for field in page.evaluate(UNNAMED)]
            contrast = page.evaluate(CONTRAST, ERRORS)
            for item in contrast["seen"]:
                kinds.add("error" if item["error"] else item["kind"])
                if item["ratio"] < MINIMUM:
                    low.append(f"{where}: {item}")
            assert contrast["muted_on_white"] >= MINIMUM and contrast["muted_on_page"] >= MINIMUM, (where, contrast)
            report.append((where, min((i["ratio"] for i in contrast["seen"]), default=None)))
            if path.startswith("/manage/monthly-duty/"):
                assert page.locator(".errorlist").is_visible()
            if path.endswith("/conduct/1/"):
                assert page.locator(f".window-state.locked[data-window='{lock}']").is_visible()
        # A wrong password: the sign-in form's own error, in the refusal colour.
        page = new_context().new_page()
        page.goto(site.url(path="/accounts/login/"))
        page.locator("form:has(input[name=login]) input[name=login]").fill(PARENT)
        page.locator("form:has(input[name=login]) input[name=password]").fill("sai-mat-khau")
        page.locator("form:has(input[name=login]) button[type=submit]").first.click()
        page.wait_for_load_state("load")
        contrast = page.evaluate(CONTRAST, ERRORS)
        errors = [i for i in contrast["seen"] if i["error"]]
        assert errors, f"no error message after a wrong password: {contrast['seen']}"
        low += [f"login refused: {i}" for i in contrast["seen"] if i["ratio"] < MINIMUM]
        unnamed += [f"login refused: {field}" for field in page.evaluate(UNNAMED)]
        shot(page, shots, "login-refused")
    finally:
        set_record_state(site, record, state)
        site.sql("delete from public.tenants_window where id = %s returning id", (lock,))
        site.sql("delete from public.tenants_backgroundjobrow where job_id = %s returning id", (job,))
        site.sql("delete from public.tenants_backgroundjob where id = %s returning id", (job,))
    (shots / "a11y-contrast.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))
    problems = [f"no accessible name: {field}" for field in unnamed] + [f"under {MINIMUM}:1: {item}" for item in low]
    assert not problems, "\n".join(problems)
    assert {"bad", "muted", "error"} <= kinds, kinds  # the checks met each kind of text


def test_the_grade_sheet_moves_focus_cell_by_cell_in_reading_order(site, new_context, shots, people, ids):
    sheet = site.url(SCHOOL, f"/classes/{ids['class']}/sheets/{ids['subject']}/1/")
    page = new_context(storage_state=people[SUBJECT_TEACHER]).new_page()
    page.goto(sheet)
    second = int(page.locator("#sheet tbody tr").nth(1).get_attribute("data-student"))
    record, state = record_state(site, second)
    set_record_state(site, record, "approved")  # the second row is read-only while this test runs
    try:
        page.goto(sheet)
        assert page.locator(f"#sheet tbody tr[data-student='{second}'].locked").count() == 1
        order = page.evaluate(CELLS)
        assert order and not any(key.startswith(f"{second}:") for key in order)
        first_row = [key for key in order if key.split(":")[0] == order[0].split(":")[0]]
        steps = min(len(order), 3 * len(first_row) + 2)  # past the locked row, into the fourth
        page.locator("#sheet td.cell input, #sheet td.cell textarea").first.focus()
        assert page.evaluate(FOCUSED) == order[0]
        forward = [order[0]]
        for _ in range(steps - 1):
            page.keyboard.press("Tab")
            forward.append(page.evaluate(FOCUSED))
        assert forward == order[:steps], "Tab left reading order or entered a read-only cell"
        backward = [forward[-1]]
        for _ in range(steps - 1):
            page.keyboard.press("Shift+Tab")
            backward.append(page.evaluate(FOCUSED))
        assert backward == list(reversed(order[:steps])), "Shift+Tab did not go back the same way"
        # The arrows move one cell across; ↓ and Enter go down the column, over the read-only row.
        page.keyboard.press("ArrowRight")
        assert page.evaluate(FOCUSED) == order[1]
        page.keyboard.press("ArrowLeft")
        assert page.evaluate(FOCUSED) == order[0]
        column = order[0].split(":")[1]
        below = [key for key in order if key.endswith(f":{column}")]
        page.keyboard.press("ArrowDown")
        assert page.evaluate(FOCUSED) == below[1] and not below[1].startswith(f"{second}:")
        page.keyboard.press("Enter")
        assert page.evaluate(FOCUSED) == below[2]
        page.keyboard.press("ArrowUp")
        assert page.evaluate(FOCUSED) == below[1]
        # Past the last cell Tab leaves the sheet (the page's next control), like any other form.
        page.locator(
            f"#sheet [data-student='{order[-1].split(':')[0]}'][data-column='{order[-1].split(':')[1]}']"
        ).focus()
        page.keyboard.press("Tab")
        assert page.evaluate("() => !document.activeElement.closest('#sheet')")
        shot(page, shots, "sheet-focus")
    finally:
        set_record_state(site, record, state)


def seed_work(site, ids) -> dict[str, list[int]]:
    """Work for the Sở's and the unit's homes (public rows, removed by ``unseed_work``): a province lock of next year's
    conduct with Nguyễn Du's request to unlock it, a province window locking in three days, last month's
    monthly-duty gaps at Nguyễn Du and at a school of Xã Nam Lợi, and that school's schema failed to update."""
    ((other,),) = site.sql("select id from public.tenants_school where slug = %s", (OTHER_SCHOOL,))
    windows = [
        row[0]
        for row in site.sql(
            "insert into public.tenants_window (tier, unit_id, grades, category, year_start, opens_at, locks_at,"
            " reason, created_at) values"
            " ('province', %s, '{}', 'conduct', %s, now() - interval '30 days', now() - interval '1 day', 'Thử',"
            " now()), ('province', %s, '{}', 'scores_2', %s, now() - interval '1 day', now() + interval '73 hours',"
            " 'Thử', now()) returning id",
            (ids["province"], NEXT_YEAR, ids["province"], NEXT_YEAR),
        )
    ]
    ((principal,),) = site.sql("select id from public.tenants_account where username = %s", (PRINCIPAL,))
    ((request,),) = site.sql(
        "insert into public.tenants_windowexception (window_id, school_id, class_ids, student_ids, until, reason,"
        " status, requested_by_id, requested_at, decision_note) values (%s, %s, %s, '{}', now() + interval '3 days',"
        " 'Nhập bù rèn luyện', 'requested', %s, now(), '') returning id",
        (windows[0], ids["school"], [ids["class"]], principal),
    )
    month = "(date_trunc('month', now() at time zone 'Asia/Ho_Chi_Minh') - interval '1 month')::date"
    duty = [
        row[0]
        for row in site.sql(
            "insert into public.tenants_monthlydutycheck (school_id, month, year_start, checked_at, classes,"
            f" classes_without_update, teachers_notified, without_update) values (%s, {month}, 2025, now(), 5, 2, 2,"
            f" '[]'), (%s, {month}, 2025, now(), 4, 1, 1, '[]') on conflict do nothing returning id",
            (ids["school"], other),
        )
    ]
    ((error,),) = site.sql("select schema_error from public.tenants_school where id = %s", (other,))
    site.sql(
        "update public.tenants_school set schema_error = 'ProgrammingError: thử' where id = %s returning id", (other,)
    )
    return {"windows": windows, "request": [request], "duty": duty, "school": [other], "error": [error]}


def unseed_work(site, seeded) -> None:
    site.sql("delete from public.tenants_windowexception where id = any(%s) returning id", (seeded["request"],))
    site.sql("delete from public.tenants_window where id = any(%s) returning id", (seeded["windows"],))
    site.sql("delete from public.tenants_monthlydutycheck where id = any(%s) returning id", (seeded["duty"],))
    site.sql(
        "update public.tenants_school set schema_error = %s where id = %s returning id",
        (seeded["error"][0], seeded["school"][0]),
    )


def test_the_homes_the_record_the_sheet_and_the_class_page_fit_a_phone_and_a_laptop(
    site, new_context, shots, people, ids
):
    record, state = record_state(site, ids["child"])
    set_record_state(site, record, "approved")
    seeded = seed_work(site, ids)
    pages = [
        ("so-home", PROVINCE_ADMIN, None, "/", "#wait-requests"),
        ("unit-home", UNIT_STAFF, None, "/", "#wait-duty"),
        ("principal-home", PRINCIPAL, SCHOOL, "/", "main h1"),
        ("parent-record", PARENT, SCHOOL, f"/students/{ids['child']}/record/", "#record-subjects"),
        ("sheet", SUBJECT_TEACHER, SCHOOL, f"/classes/{ids['class']}/sheets/{ids['subject']}/1/", "#sheet"),
        ("class", HOMEROOM_TEACHER, SCHOOL, f"/classes/{ids['class']}/", "#class-students"),
    ]
    try:
        for label, person, slug, path, landmark in pages:
            page = new_context(storage_state=people[person], viewport=PHONE).new_page()
            for viewport, size in ((PHONE, "390"), (DESK, "1366")):
                page.set_viewport_size(viewport)
                response = page.goto(site.url(slug, path))
                assert response is not None and response.ok, f"{label}: {response and response.status}"
                assert page.locator(landmark).first.is_visible(), f"{label} {size}: no {landmark}"
                assert_fits(page, f"{label} {size}")
                shot(page, shots, f"{label}-{size}")
                if label == "so-home":
                    # The Sở decides the request, sees the window of the week, the failed schema and both schools'
                    # gaps; the unit officer (no decision) sees its own school's gap and not Nguyễn Du's.
                    assert page.locator(f"#wait-requests li[data-request='{seeded['request'][0]}']").is_visible()
                    assert page.locator(f"#wait-windows li[data-window='{seeded['windows'][1]}']").is_visible()
                    assert page.locator(f"#wait-schemas li[data-school='{seeded['school'][0]}']").is_visible()
                    assert page.locator("#wait-duty li").count() == 2
                if label == "unit-home":
                    assert page.locator("#wait-requests").count() == 0
                    assert page.locator(f"#wait-windows li[data-window='{seeded['windows'][1]}']").is_visible()
                    assert page.locator(f"#wait-duty li[data-school='{seeded['school'][0]}']").is_visible()
                    assert page.locator(f"#wait-duty li[data-school='{ids['school']}']").count() == 0
    finally:
        unseed_work(site, seeded)
        set_record_state(site, record, state)

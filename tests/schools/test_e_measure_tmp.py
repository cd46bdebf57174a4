import io, time
import openpyxl
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from schools.services.common import system_access
from schools.services.students import student_enrol
from tests.schools.test_excel_qualities import primary, client, urls, upload, xlsx, headers  # noqa: F401


def _measure(w, three, n):
    c = client(w, "homeroom_a")
    template, url = urls(three)
    with CaptureQueriesContext(connection) as q1:
        t0 = time.perf_counter(); r = c.get(template); t_tpl = time.perf_counter() - t0
    wb = openpyxl.load_workbook(io.BytesIO(r.content)); ws = wb.active
    for row in range(5, 5 + n):
        for col in range(5, 20):
            ws.cell(row=row, column=col, value="Tốt")
    content = xlsx(wb)
    with CaptureQueriesContext(connection) as q2:
        t0 = time.perf_counter(); resp = upload(c, url, content); t_imp = time.perf_counter() - t0
    assert resp.status_code == 200, resp.content[:300]
    return len(q1), len(q2), t_tpl, t_imp, resp.json()


def test_measure(w, primary):
    three = primary["class"]
    system = system_access(connection.tenant.pk)
    print("\nMEASURE 2 pupils", _measure(w, three, 2))
    for i in range(33):
        student_enrol(access=system, school_class=three, today=timezone.localdate(),
                      profile={"full_name": f"Nguyễn Văn Số{i:02d}", "date_of_birth": "01/01/2018", "gender": "M"})
    print("MEASURE 35 pupils", _measure(w, three, 35))

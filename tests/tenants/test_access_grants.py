"""Read grants: an officer asks a school in scope, its principal approves, the officer reads the granted records only
(read-only, each read a platform audit entry), until the database clock passes ``until`` or the grant is revoked."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from tenants.models import AccessGrant, GrantStatus, PlatformAuditEntry
from tests.support import SCHOOL_A_HOST, SCHOOL_B_HOST, client_for, page_text

PLATFORM = "hocba.localhost"


def _until(days: float = 2) -> str:
    return timezone.localtime(timezone.now() + dt.timedelta(days=days)).strftime("%d/%m/%Y %H:%M")


def _ask(w, name: str, school_id: int, **fields):
    data = {
        "readgrant-purpose": "Giải quyết đơn phản ánh về điểm môn Toán",
        "readgrant-until": _until(),
        **{f"readgrant-{k}": v for k, v in fields.items()},
    }
    return client_for(w.account(name), PLATFORM).post(
        f"/manage/schools/{school_id}/read-grants/new/", data, follow=True
    )


def _grant(w, klass, *, students=(), classes=(), holder="inspector", approve=True, days=2) -> AccessGrant:
    from tenants.services.grants import grant_decide, grant_request

    grant = grant_request(
        actor=w.account(holder),
        school=klass.school,
        class_ids=list(classes),
        student_ids=list(students),
        targets_label="kiểm thử",
        purpose="Kiểm tra hồ sơ",
        until=timezone.now() + dt.timedelta(days=days),
    )
    if approve:
        grant_decide(actor=w.account("principal_a"), grant_id=grant.pk, school_id=klass.school.pk, approve=True)
    return grant


def _reads() -> int:
    return PlatformAuditEntry.objects.filter(action="grant.read").count()


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"]) if response.context else ""


# --- request ------------------------------------------------------------------------------------------------


def test_an_officer_asks_for_named_students_and_whole_classes_of_a_school_in_scope(w, klass):
    response = _ask(
        w,
        "unit_a_staff",
        w.school_a,
        class_ids=[str(klass.other_class.pk)],
        student_class=str(klass.school_class.pk),
        student_names="nguyen van an\nTrần Thị Bình",
    )
    assert response.status_code == 200
    grant = AccessGrant.objects.get(account_id=w.accounts["unit_a_staff"])
    assert grant.status == GrantStatus.REQUESTED and grant.school_id == w.school_a
    assert sorted(grant.student_ids) == sorted(klass.students[:2]) and grant.class_ids == [klass.other_class.pk]
    assert "Lớp 6A2" in grant.targets_label and "Nguyễn Văn An (6A1)" in grant.targets_label
    entry = PlatformAuditEntry.objects.get(action="grant.request", object_id=str(grant.pk))
    assert entry.school_id == w.school_a and entry.after["student_ids"] == sorted(klass.students[:2])
    # The school's page on the platform site lists the request for its holder.
    page = page_text(client_for(w.account("unit_a_staff"), PLATFORM).get(f"/manage/schools/{w.school_a}/"))
    assert 'id="my-read-grants"' in page and "Chờ hiệu trưởng duyệt" in page


def test_a_request_outside_scope_too_long_without_purpose_or_unknown_is_refused_and_changes_nothing(w, klass):
    # A unit officer cannot ask another unit's school (the page and the request are both refused).
    assert client_for(w.account("unit_a_staff"), PLATFORM).get(f"/manage/schools/{w.school_b}/").status_code == 403
    outside = _ask(w, "unit_a_staff", w.school_b, class_ids=["1"])
    assert outside.status_code == 403 and "ngoài phạm vi" in outside.content.decode()
    # Past the longest allowed (HOCBA_GRANT_MAX_DAYS, 7 by default).
    too_far = _ask(w, "unit_a_staff", w.school_a, class_ids=[str(klass.school_class.pk)], until=_until(8))
    assert "tối đa 7 ngày" in _messages(too_far)
    # The purpose is required; a class or students too; names the class does not have are named back.
    no_purpose = _ask(w, "unit_a_staff", w.school_a, class_ids=[str(klass.school_class.pk)], purpose="  ")
    assert "Cần ghi mục đích" in _messages(no_purpose)
    nothing = _ask(w, "unit_a_staff", w.school_a)
    assert "Cần chọn lớp hoặc học sinh" in _messages(nothing)
    unknown = _ask(w, "unit_a_staff", w.school_a, student_class=str(klass.school_class.pk), student_names="Ai Đó")
    assert "Ai Đó" in _messages(unknown)
    # A principal asks no grants; a school's staff cannot either.
    assert _ask(w, "principal_a", w.school_a, class_ids=[str(klass.school_class.pk)]).status_code == 403
    assert AccessGrant.objects.count() == 0
    # The English of a refusal, as the API body carries it.
    from hocba.kernel.errors import DomainError

    from tenants.services.grants import grant_request

    with pytest.raises(DomainError) as exc:
        grant_request(
            actor=w.account("inspector"),
            school=klass.school,
            class_ids=[klass.school_class.pk],
            student_ids=[],
            targets_label="x",
            purpose="x",
            until=timezone.now() + dt.timedelta(days=30),
        )
    assert exc.value.as_dict()["detail_en"].startswith("A read grant lasts at most 7 days")
    assert AccessGrant.objects.count() == 0


# --- decision -----------------------------------------------------------------------------------------------


def test_only_that_schools_principal_decides(w, klass):
    grant = _grant(w, klass, students=[klass.students[0]], approve=False)
    decide = f"/grants/{grant.pk}/decide/"
    # A vice principal and a teacher hold no grants.decide; another school's principal finds no such grant.
    assert client_for(w.account("vice_a"), SCHOOL_A_HOST).post(decide, {"decision": "approve"}).status_code == 403
    other = client_for(w.account("principal_b"), SCHOOL_B_HOST).post(decide, {"decision": "approve"}, follow=True)
    assert "Không tìm thấy quyền xem này" in _messages(other)
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REQUESTED
    principal = client_for(w.account("principal_a"), SCHOOL_A_HOST)
    page = page_text(principal.get("/grants/"))
    assert f'data-grant="{grant.pk}"' in page and "Kiểm tra hồ sơ" in page
    home = page_text(principal.get("/"))  # "Việc chờ bạn" on the school's home
    assert 'id="wait-grants"' in home and f'data-grant="{grant.pk}"' in home
    assert 'id="wait-grants"' not in page_text(client_for(w.account("vice_a"), SCHOOL_A_HOST).get("/"))
    done = principal.post(decide, {"decision": "approve", "note": "Đồng ý"}, follow=True)
    assert "Đã duyệt" in _messages(done)
    grant.refresh_from_db()
    assert grant.status == GrantStatus.APPROVED and grant.decided_by_id == w.accounts["principal_a"]
    again = principal.post(decide, {"decision": "refuse"}, follow=True)
    assert "đã được quyết định" in _messages(again)
    grant.refresh_from_db()
    assert grant.status == GrantStatus.APPROVED
    assert PlatformAuditEntry.objects.filter(action="grant.approve", object_id=str(grant.pk)).count() == 1


def test_a_requested_or_refused_grant_opens_nothing(w, klass):
    grant = _grant(w, klass, students=[klass.students[0]], approve=False)
    inspector = client_for(w.account("inspector"), SCHOOL_A_HOST)
    assert inspector.get(f"/grants/{grant.pk}/students/{klass.students[0]}/record/").status_code == 403
    client_for(w.account("principal_a"), SCHOOL_A_HOST).post(f"/grants/{grant.pk}/decide/", {"decision": "refuse"})
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REFUSED
    assert inspector.get(f"/grants/{grant.pk}/read/").status_code == 403
    assert _reads() == 0


# --- reading ------------------------------------------------------------------------------------------------


def test_the_holder_reads_the_granted_record_only_and_each_read_is_audited(w, klass):
    from schools.models import Student

    Student.objects.filter(pk=klass.students[0]).update(personal_id="079214000123", address="12 Lê Lợi, Tây Ninh")
    grant = _grant(w, klass, students=[klass.students[0]])
    inspector = client_for(w.account("inspector"), SCHOOL_A_HOST)
    listing = page_text(inspector.get(f"/grants/{grant.pk}/read/"))
    assert "Nguyễn Văn An" in listing and "Trần Thị Bình" not in listing
    url = f"/grants/{grant.pk}/students/{klass.students[0]}/record/"
    page = inspector.get(url)
    text = page_text(page)
    assert page.status_code == 200 and "Nguyễn Văn An" in text and 'id="record-subjects"' in text
    # The record book as readers see it, without the profile keepers' personal data.
    assert "079214000123" not in text and "12 Lê Lợi" not in text and 'id="personal-withheld"' in text
    assert 'id="grant-notice"' in text
    # The menu offers none of the school's pages: under a grant the holder holds nothing else there.
    assert "Lịch mở/khóa" not in text and 'href="/audit/"' not in text
    entry = PlatformAuditEntry.objects.get(action="grant.read")
    assert entry.actor_id == w.accounts["inspector"] and entry.school_id == w.school_a
    assert entry.object_id == str(grant.pk) and entry.after["student_id"] == klass.students[0]
    assert entry.after["student_name"] == "Nguyễn Văn An" and entry.role == "read_grant"
    inspector.get(url)
    assert _reads() == 2  # every read
    # The platform's audit trail tells it as a sentence, for the school's history too.
    log = page_text(client_for(w.account("province_admin"), PLATFORM).get("/manage/audit/?action=grant.read"))
    assert "đã xem học bạ theo quyền được duyệt tại" in log and "Trường THCS An Thạnh" in log
    # Another student of the school, the school's other pages, writes, the API: refused, and not audited.
    refused = [
        f"/grants/{grant.pk}/students/{klass.students[1]}/record/",
        f"/students/{klass.students[0]}/record/",
        f"/students/{klass.students[0]}/",
        f"/classes/{klass.school_class.pk}/",
        f"/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1/",
        f"/api/v1/students/{klass.students[0]}/record/",
        f"/excel/classes/{klass.school_class.pk}/export/",
        "/grants/",
        "/",
    ]
    for path in refused:
        assert inspector.get(path).status_code in (403, 404), path
    assert inspector.post(url).status_code == 403
    assert _reads() == 2


def test_a_class_grant_opens_that_class_records_only(w, klass):
    grant = _grant(w, klass, classes=[klass.other_class.pk], holder="unit_a_staff")
    officer = client_for(w.account("unit_a_staff"), SCHOOL_A_HOST)
    assert officer.get(f"/grants/{grant.pk}/students/{klass.other_students[0]}/record/").status_code == 200
    assert officer.get(f"/grants/{grant.pk}/students/{klass.students[0]}/record/").status_code == 404
    # Someone else's grant id opens nothing for this holder.
    assert client_for(w.account("inspector"), SCHOOL_A_HOST).get(f"/grants/{grant.pk}/read/").status_code == 403
    assert _reads() == 1


def test_a_grant_ends_when_the_database_clock_passes_until(w, klass):
    grant = _grant(w, klass, students=[klass.students[0]])
    inspector = client_for(w.account("inspector"), SCHOOL_A_HOST)
    url = f"/grants/{grant.pk}/students/{klass.students[0]}/record/"
    assert inspector.get(url).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE public.tenants_accessgrant SET until = now() - interval '1 minute' WHERE id = %s", [grant.pk]
        )
    expired = inspector.get(url)
    assert expired.status_code == 403 and "đã hết hạn" in expired.content.decode()
    assert inspector.get(url, HTTP_ACCEPT_LANGUAGE="en").status_code == 403
    assert _reads() == 1
    page = page_text(client_for(w.account("principal_a"), SCHOOL_A_HOST).get("/grants/"))
    assert "Đã hết hạn" in page


def test_the_principal_revokes_and_the_holder_ends_a_grant(w, klass):
    grant = _grant(w, klass, students=[klass.students[0]])
    url = f"/grants/{grant.pk}/students/{klass.students[0]}/record/"
    inspector = client_for(w.account("inspector"), SCHOOL_A_HOST)
    assert inspector.get(url).status_code == 200
    # Another school's principal cannot revoke it.
    client_for(w.account("principal_b"), SCHOOL_B_HOST).post(f"/grants/{grant.pk}/revoke/")
    grant.refresh_from_db()
    assert grant.status == GrantStatus.APPROVED
    client_for(w.account("principal_a"), SCHOOL_A_HOST).post(f"/grants/{grant.pk}/revoke/")
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REVOKED and grant.revoked_by_id == w.accounts["principal_a"]
    assert inspector.get(url).status_code == 403
    # The holder ends their own grant on the platform site; nobody else's.
    second = _grant(w, klass, students=[klass.students[1]])
    assert client_for(w.account("unit_a_staff"), PLATFORM).post(f"/manage/read-grants/{second.pk}/end/").status_code
    second.refresh_from_db()
    assert second.status == GrantStatus.APPROVED
    client_for(w.account("inspector"), PLATFORM).post(f"/manage/read-grants/{second.pk}/end/")
    second.refresh_from_db()
    assert second.status == GrantStatus.REVOKED


# --- the school's page ---------------------------------------------------------------------------------------


def test_the_schools_grant_page_lists_grants_and_reads_in_constant_queries(w, klass, queries):
    grant = _grant(w, klass, students=[klass.students[0]])
    inspector = client_for(w.account("inspector"), SCHOOL_A_HOST)
    inspector.get(f"/grants/{grant.pk}/students/{klass.students[0]}/record/")
    principal = client_for(w.account("principal_a"), SCHOOL_A_HOST)
    principal.get("/grants/")
    with queries() as one:
        page = page_text(principal.get("/grants/"))
    assert 'id="grant-reads-table"' in page and "Nguyễn Văn An" in page and "Inspector" in page
    for i in range(3):
        g = _grant(w, klass, students=[klass.students[i + 1]], holder="unit_a_staff")
        client_for(w.account("unit_a_staff"), SCHOOL_A_HOST).get(
            f"/grants/{g.pk}/students/{klass.students[i + 1]}/record/"
        )
        _grant(w, klass, classes=[klass.other_class.pk], approve=False)
    with queries() as many:
        page = page_text(principal.get("/grants/"))
    assert page.count("<tr data-grant=") >= 4 + 4
    assert len(many) == len(one)
    # Another school's principal sees none of them; a teacher has no such page.
    assert f'data-grant="{grant.pk}"' not in page_text(
        client_for(w.account("principal_b"), SCHOOL_B_HOST).get("/grants/")
    )
    assert client_for(w.account("teacher_a"), SCHOOL_A_HOST).get("/grants/").status_code == 403


def test_foreign_school_ids_show_nothing(w, klass):
    grant = _grant(w, klass, students=[klass.students[0]])
    inspector_b = client_for(w.account("inspector"), SCHOOL_B_HOST)
    # A grant at school A opens nothing at school B, whatever the ids.
    assert inspector_b.get(f"/grants/{grant.pk}/read/").status_code == 403
    assert inspector_b.get(f"/grants/{grant.pk}/students/{klass.students[0]}/record/").status_code == 403
    assert _reads() == 0

"""The signing chain of a record book and the record's moves it makes (issue 10; DESIGN §8; 004 art. 6.5, 6.7, 6.8,
7.3, 8.1, 12.1).

* ``document_create``: a PDF rendered from an approved record (``reporting.pdf``) becomes the record's current
  document (version 1, 2 … after revocations).
* ``signature_check`` / ``signature_add``: one signature of the chain, in order — every subject teacher of the class
  (the class's teaching assignments at signing time: the principal may reassign a subject, 004 art. 6.7; a shared
  subject: each teacher of a part), then the homeroom teacher, the principal, and the school's organisation seal,
  applied by the principal or the clerk (văn thư) who keeps it (004 art. 6.8, 12.1). A signature out of order, by
  another person, twice, or by an account without TOTP (``totp_problem``: server-held keys need password + TOTP) is
  refused with a message saying why. The bytes must extend the document's (an incremental signature keeps every
  earlier revision). The seal moves the record approved → signed and writes the public index row.
* ``document_archived``: the sealed PDF is in the archive store (Object Lock): its key and object version.
* ``records_lock``: the principal's khóa decision (004 art. 12.1): signed and archived records → locked.
* ``record_revoke``: the principal takes a signed or locked record back to draft with a reason (≥ 10 characters); its
  document is superseded (the archived copy stays, Object Lock), the public index says so. After a lock the
  database asks the windows as for any reopening: an exception is needed (``WindowLocked``, 423).

The record's moves approved → signed → locked are UPDATEs that the window guard lets through after a lock (they
change only the state and the signing columns: ``sql/0003_windows.sql``); rows of a signed or locked record refuse
every other write (HB409, ``schools.signedrecords.RecordSigned``). Each move adds its rollup deltas (per school and per
class) in the same transaction. A job signing for a person runs inside ``acting_for(...)``: the audit chain names the
signer, never "system"."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from hocba.kernel import context
from hocba.kernel.errors import DomainError, NotAllowed
from hocba.kernel.roles import ROLE_TIERS, Role

from schools.access import SchoolAccess
from schools.models import RecordBook, RecordState, SchoolClass, Subject, TeachingAssignment
from schools.rollups import class_rollup_add, distribution_add, rollup_add
from schools.services.common import school_write
from tenants.selectors import account_has_totp, account_names
from tenants.services import verification

from ..models import (
    STEP_ORDER,
    DocumentContent,
    DocumentKind,
    DocumentSignature,
    DocumentState,
    RecordDocument,
    SignatureStep,
)
from ..signing.validation import initials

REASON_MIN = 10  # characters of a revocation's reason
SEAL_ROLES = frozenset({Role.PRINCIPAL, Role.CLERK})
SIGNABLE = frozenset({DocumentState.RENDERED, DocumentState.SIGNING})


def totp_problem(account_id: int | None) -> DomainError | None:
    """Why this account may not sign yet, or None: a signature needs the account's second factor (TOTP) enrolled
    before the first one (issue 10, conflict 6) — whatever the account's roles (``MFA_REQUIRED_ROLES`` unchanged)."""
    if account_id is not None and account_has_totp(account_id=account_id):
        return None
    return DomainError(
        "signing.totp_required",
        _(
            "Trước khi ký số lần đầu, bạn cần bật xác thực hai lớp (mã TOTP trên ứng dụng xác thực) cho tài khoản "
            "của mình tại trang Tài khoản › Xác thực hai lớp."
        ),
        http_status=403,
    )


@contextlib.contextmanager
def acting_for(*, account_id: int, role: Role | str, source: str = "system") -> Iterator[None]:
    """A job that signs for a person: the audit chain names that person (and role) as the actor, not "system"."""
    role = Role(role)
    token = context.update(account_id=account_id, role=role.value, tier=ROLE_TIERS[role].value, source=source)
    try:
        yield
    finally:
        context.reset(token)


# --- the chain -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seat:
    """One signature the chain needs: its step, the subject (subject step), and who may sign it — the one account
    (a subject's assigned teacher, the homeroom teacher) or any holder of ``roles`` (principal, seal)."""

    step: str
    subject_id: int | None = None
    account_id: int | None = None
    roles: frozenset[Role] = frozenset()

    def may_sign(self, access: SchoolAccess) -> bool:
        if self.account_id is not None:
            return access.account_id == self.account_id
        return bool(self.roles & access.roles)


@dataclass(frozen=True)
class ChainState:
    """The seats of a document's chain and which are signed (``done``); ``pending`` in the chain's order."""

    seats: tuple[Seat, ...]
    done: frozenset[Seat]

    @property
    def pending(self) -> tuple[Seat, ...]:
        return tuple(s for s in self.seats if s not in self.done)

    def next_step(self) -> str | None:
        """The step that may be signed now: the first step with a pending seat (subjects in any order)."""
        pending = self.pending
        return pending[0].step if pending else None


def _assignments(school_class_id: int) -> dict[int, list[int]]:
    """{subject: [teacher, …]} of the class's teaching assignments now."""
    teachers: dict[int, list[int]] = {}
    for subject_id, teacher_id in sorted(
        TeachingAssignment.objects.filter(school_class_id=school_class_id).values_list("subject_id", "teacher_id")
    ):
        teachers.setdefault(subject_id, []).append(teacher_id)
    return teachers


def _chain(
    homeroom_teacher_id: int | None, teachers: dict[int, list[int]], signed: Iterable[tuple[str, int | None, int]]
) -> ChainState:
    signed = list(signed)
    by_subject: dict[int, set[int]] = {}
    for step, subject_id, signer_id in signed:
        if step == SignatureStep.SUBJECT:
            by_subject.setdefault(subject_id, set()).add(signer_id)
    seats: list[Seat] = []
    done: set[Seat] = set()
    for subject_id, assigned in teachers.items():
        for teacher_id in assigned:
            seat = Seat(SignatureStep.SUBJECT, subject_id, teacher_id)
            seats.append(seat)
            signers = by_subject.get(subject_id, set())
            # A whole subject (one teacher) signed by the teacher assigned then; a shared one, by each teacher.
            if teacher_id in signers or (len(assigned) == 1 and signers):
                done.add(seat)
    steps = {step for step, _subject, _signer in signed}
    for seat in (
        Seat(SignatureStep.HOMEROOM, account_id=homeroom_teacher_id),
        Seat(SignatureStep.PRINCIPAL, roles=frozenset({Role.PRINCIPAL})),
        Seat(SignatureStep.SEAL, roles=SEAL_ROLES),
    ):
        seats.append(seat)
        if seat.step in steps:
            done.add(seat)
    return ChainState(tuple(seats), frozenset(done))


def chain_state(document: RecordDocument) -> ChainState:
    """The document's chain as of now: the class's teaching assignments (read now: a reassigned subject is signed by
    its new teacher; a signature already made by the earlier one counts), the homeroom teacher, principal, seal.
    Two queries (the document's class already loaded)."""
    return _chain(
        document.school_class.homeroom_teacher_id,
        _assignments(document.school_class_id),
        document.signatures.values_list("step", "subject_id", "signer_id"),
    )


def waiting_for(*, access: SchoolAccess, school_class: SchoolClass) -> list[tuple[RecordDocument, Seat]]:
    """The class's documents whose next signature is this person's, with the seat each waits for: what a teacher
    reviews and confirms once for the whole class (a subject, the homeroom), what the principal signs or seals.
    Three queries, however many documents and signatures."""
    documents = list(
        RecordDocument.objects.filter(school_class=school_class, state__in=SIGNABLE, record__state=RecordState.APPROVED)
        .select_related("record__student")
        .order_by("record__student__sort_key", "pk")
    )
    teachers = _assignments(school_class.pk)
    signed: dict[int, list[tuple[str, int | None, int]]] = {}
    for document_id, step, subject_id, signer_id in DocumentSignature.objects.filter(
        document__in=documents
    ).values_list("document_id", "step", "subject_id", "signer_id"):
        signed.setdefault(document_id, []).append((step, subject_id, signer_id))
    out = []
    for document in documents:
        state = _chain(school_class.homeroom_teacher_id, teachers, signed.get(document.pk, ()))
        step = state.next_step()
        mine = [s for s in state.pending if s.step == step and s.may_sign(access)]
        out.extend((document, seat) for seat in mine)
    return out


STEP_LABELS = dict(SignatureStep.choices)


def _refuse_order(state: ChainState, step: str) -> DomainError:
    waiting = state.next_step()
    if waiting is None:
        return DomainError("signing.complete", _("Học bạ này đã đủ chữ ký và đã đóng dấu."), http_status=409)
    if STEP_ORDER.index(step) < STEP_ORDER.index(waiting):
        return DomainError("signing.already_signed", _("Bước ký này đã xong; không ký lại được."), http_status=409)
    missing = [s for s in state.pending if s.step == waiting]
    return DomainError(
        "signing.out_of_order",
        _(
            "Chưa đến lượt ký này: còn chờ %(n)s chữ ký của %(who)s. Thứ tự ký: giáo viên bộ môn → giáo viên chủ nhiệm "
            "→ Hiệu trưởng → dấu của nhà trường."
        ),
        params={"n": len(missing), "who": STEP_LABELS[waiting]},
        http_status=409,
        extra={"waiting": [{"step": s.step, "subject": s.subject_id} for s in missing]},
    )


def signature_check(
    *, access: SchoolAccess, document: RecordDocument, step: str, subject: Subject | None = None
) -> Seat:
    """The seat ``access`` signs with this signature, or a refusal saying why not: the document is not being signed,
    the record is not approved, the step is out of order, the person is not the one the step needs, the account has
    no TOTP. Nothing is changed."""
    if step not in STEP_ORDER:
        raise DomainError("signing.bad_step", _("Bước ký không hợp lệ."), field="step")
    capability = "records.seal" if step == SignatureStep.SEAL else "records.sign"
    if not access.can(capability):
        raise NotAllowed("signing.not_allowed", _("Bạn không có quyền ký số học bạ ở bước này."))
    if document.state not in SIGNABLE:
        raise DomainError(
            "signing.not_signable",
            _("Bản học bạ này không còn chờ ký (trạng thái: %(state)s)."),
            params={"state": document.get_state_display()},
            http_status=409,
        )
    if document.kind == DocumentKind.RECORD_BOOK and document.record.state != RecordState.APPROVED:
        raise DomainError(
            "signing.record_not_approved", _("Chỉ ký số được học bạ đã được Hiệu trưởng duyệt."), http_status=409
        )
    if (step == SignatureStep.SUBJECT) != (subject is not None):
        raise DomainError(
            "signing.subject_required", _("Chữ ký của giáo viên bộ môn phải nêu môn học."), field="subject"
        )
    state = chain_state(document)
    if state.next_step() != step:
        raise _refuse_order(state, step)
    candidates = [s for s in state.pending if s.step == step and (subject is None or s.subject_id == subject.pk)]
    if step == SignatureStep.SUBJECT and not candidates:
        signed_subject = any(s.step == step and s.subject_id == subject.pk for s in state.done)
        if signed_subject:
            raise DomainError("signing.already_signed", _("Môn học này đã được ký."), http_status=409)
    seat = next((s for s in candidates if s.may_sign(access)), None)
    if seat is None:
        raise NotAllowed(
            "signing.wrong_person",
            _(
                "Bạn không phải người ký ở bước này (%(step)s). Người ký môn học là giáo viên được phân công dạy môn "
                "đó ở lớp vào lúc ký."
            ),
            params={"step": STEP_LABELS[step]},
        )
    problem = totp_problem(access.account_id)
    if problem is not None:
        raise problem
    return seat


# --- writes ------------------------------------------------------------------------------------------------------


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _deltas(moves: dict[str, int], to: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for state, n in moves.items():
        out[f"records_{state}"] = out.get(f"records_{state}", 0) - n
        out[f"records_{to}"] = out.get(f"records_{to}", 0) + n
    return out


def _rollups(access: SchoolAccess, school_class: SchoolClass, **deltas: int) -> None:
    rollup_add(school_id=access.school_id, year_start=school_class.year.start_year, **deltas)
    class_deltas = {k: v for k, v in deltas.items() if k.startswith("records_") and k[8:] in RecordState.values}
    if class_deltas:
        class_rollup_add(school_id=access.school_id, school_class=school_class, **class_deltas)


@school_write
def document_create(
    *,
    access: SchoolAccess,
    record: RecordBook,
    pdf: bytes,
    template_version: str,
    pages: int = 0,
    token: str | None = None,
) -> RecordDocument:
    """The rendered PDF of an approved record becomes its current document (version = the last + 1). A current
    document not signed yet (``rendered``) is superseded by it (a layout corrected); one being signed or sealed is
    not replaced: it must be revoked first. Revoked versions without a successor name this one. ``token``: the one
    the PDF's QR code links to, when it was rendered before the document existed (default: a new one)."""
    if not access.can("records.sign") and not access.can("records.seal"):
        raise NotAllowed("signing.not_allowed", _("Bạn không có quyền tạo bản học bạ để ký số."))
    record = RecordBook.objects.select_for_update().select_related("school_class__year").get(pk=record.pk)
    if record.state != RecordState.APPROVED:
        raise DomainError(
            "signing.record_not_approved", _("Chỉ tạo bản ký số được cho học bạ đã được duyệt."), http_status=409
        )
    if not pdf.startswith(b"%PDF-"):
        raise DomainError("signing.not_pdf", _("Tệp không phải là PDF."), field="pdf")
    documents = RecordDocument.objects.select_for_update().filter(record=record)
    current = [d for d in documents if d.state != DocumentState.SUPERSEDED]
    now = timezone.now()
    for d in current:
        if d.state != DocumentState.RENDERED:
            raise DomainError(
                "signing.document_in_progress",
                _("Học bạ này đang có bản đã ký (phiên bản %(v)s); cần thu hồi trước khi tạo bản mới."),
                params={"v": d.version},
                http_status=409,
            )
    version = (documents.aggregate(v=Max("version"))["v"] or 0) + 1
    document = RecordDocument(
        kind=DocumentKind.RECORD_BOOK,
        record=record,
        school_class=record.school_class,
        year_id=record.year_id,
        version=version,
        template_version=template_version,
        sha256=_sha256(pdf),
        pages=pages,
        created_by=access.account_id,
        **({"token": token} if token else {}),
    )
    for d in current:  # replaced before the new one exists: one current document per record
        RecordDocument.objects.filter(pk=d.pk).update(state=DocumentState.SUPERSEDED, superseded_at=now)
        DocumentContent.objects.filter(document_id=d.pk).delete()
    document.save()
    DocumentContent.objects.create(document=document, pdf=pdf)
    RecordDocument.objects.filter(record=record, state=DocumentState.SUPERSEDED, superseded_by__isnull=True).exclude(
        pk=document.pk
    ).update(superseded_by=document)
    return document


@school_write
def signature_add(
    *,
    access: SchoolAccess,
    document: RecordDocument,
    step: str,
    pdf: bytes,
    certificate_subject: str,
    certificate_serial: str,
    backend: str,
    subject: Subject | None = None,
) -> DocumentSignature:
    """Record one signature of the chain: ``pdf`` is the document's bytes with the signature appended (an incremental
    revision: it must begin with the current bytes). Checked as ``signature_check``, under the document's row lock.
    The seal closes the chain: the document is sealed, the record moves approved → signed (the signing path, open
    after a lock), the rollups move, and the public index gets the document's row."""
    document = (
        RecordDocument.objects.select_for_update(of=("self",))
        .select_related("record", "school_class__year")
        .get(pk=document.pk)
    )
    seat = signature_check(access=access, document=document, step=step, subject=subject)
    content = DocumentContent.objects.select_for_update().filter(document=document).first()
    current = bytes(content.pdf) if content is not None else b""
    if not current or len(pdf) <= len(current) or not pdf.startswith(current):
        raise DomainError(
            "signing.not_incremental",
            _(
                "Bản đã ký không nối tiếp bản đang ký (chữ ký phải được thêm vào cuối tệp, "
                "giữ nguyên các chữ ký trước)."
            ),
            http_status=409,
        )
    now = timezone.now()
    digest = _sha256(pdf)
    names = account_names([access.account_id]) if access.account_id is not None else {}
    signature = DocumentSignature.objects.create(
        document=document,
        seq=document.signatures.count() + 1,
        step=step,
        subject=subject,
        subject_code=subject.code if subject is not None else "",
        signer_id=access.account_id,
        signer_initials=initials(names.get(access.account_id, "")),
        certificate_subject=certificate_subject[:400],
        certificate_serial=certificate_serial[:100],
        backend=backend,
        signed_at=now,
        sha256_after=digest,
    )
    DocumentContent.objects.filter(document=document).update(pdf=pdf, updated_at=now)
    document.sha256 = digest
    document.state = DocumentState.SEALED if seat.step == SignatureStep.SEAL else DocumentState.SIGNING
    document.sealed_at = now if seat.step == SignatureStep.SEAL else None
    document.save(update_fields=["sha256", "state", "sealed_at"])
    if seat.step == SignatureStep.SEAL:
        _sealed(access, document, now)
    return signature


def _sealed(access: SchoolAccess, document: RecordDocument, now) -> None:
    school_class = document.school_class
    if document.kind == DocumentKind.RECORD_BOOK:
        moved = RecordBook.objects.filter(pk=document.record_id, state=RecordState.APPROVED).update(
            state=RecordState.SIGNED, signed_at=now, sealed_by=access.account_id
        )
        _rollups(access, school_class, **_deltas({RecordState.APPROVED: moved}, RecordState.SIGNED))
    signatures = list(document.signatures.order_by("seq").values_list("step", "signer_initials", "signed_at"))
    verification.index_register(
        uid=document.uid,
        token=document.token,
        school_id=access.school_id,
        year_start=school_class.year.start_year,
        kind=document.kind,
        version=document.version,
        sha256=document.sha256,
        signers=[verification.Signer(step, who, at) for step, who, at in signatures],
        sealed_at=now,
    )
    earlier = list(document.supersedes.values_list("uid", flat=True))
    if earlier:
        verification.index_successor(uids=earlier, successor=document.uid)


@school_write
def document_archived(
    *, access: SchoolAccess, document: RecordDocument, key: str, version_id: str, sha256: str
) -> RecordDocument:
    """The sealed document is stored in the archive (Object Lock): its key and object version are kept, its working
    bytes dropped, the public index points at the archived copy, ``records_archived`` grows. Idempotent: the same
    key and version again change nothing."""
    document = (
        RecordDocument.objects.select_for_update(of=("self",)).select_related("school_class__year").get(pk=document.pk)
    )
    if document.state == DocumentState.ARCHIVED and (document.archive_key, document.archive_version_id) == (
        key,
        version_id,
    ):
        return document
    if document.state != DocumentState.SEALED:
        raise DomainError(
            "archive.not_sealed", _("Chỉ lưu trữ được bản học bạ đã đủ chữ ký và đóng dấu."), http_status=409
        )
    if sha256 != document.sha256:
        raise DomainError(
            "archive.digest_mismatch", _("Bản lưu trữ không trùng với bản đã ký (mã SHA-256 khác)."), http_status=409
        )
    now = timezone.now()
    document.state, document.archive_key, document.archive_version_id, document.archived_at = (
        DocumentState.ARCHIVED,
        key,
        version_id,
        now,
    )
    document.save(update_fields=["state", "archive_key", "archive_version_id", "archived_at"])
    DocumentContent.objects.filter(document=document).delete()
    verification.index_archived(uid=document.uid, sha256=sha256, s3_key=key, s3_version_id=version_id, archived_at=now)
    if document.kind == DocumentKind.RECORD_BOOK:
        rollup_add(school_id=access.school_id, year_start=document.school_class.year.start_year, records_archived=1)
    return document


@dataclass(frozen=True)
class Locked:
    """The principal's khóa decision: how many records were locked, and those still waiting for their archive."""

    count: int
    not_archived: tuple[int, ...] = ()


@school_write
def records_lock(
    *, access: SchoolAccess, school_class: SchoolClass, student_ids: Iterable[int] | None = None
) -> Locked:
    """Lock the class's signed records whose current document is archived (of ``student_ids`` if given): signed →
    locked, the principal's decision after archiving (004 art. 12.1). Signed records not archived yet are left signed
    and named in the result; no signed record at all is refused."""
    if not access.can("records.lock"):
        raise NotAllowed("records.lock_not_allowed", _("Chỉ Hiệu trưởng mới khóa được học bạ."))
    records = RecordBook.objects.select_for_update().filter(school_class=school_class, state=RecordState.SIGNED)
    if student_ids is not None:
        records = records.filter(student_id__in=list(student_ids))
    ids = list(records.values_list("pk", flat=True))
    if not ids:
        raise DomainError("records.nothing_to_lock", _("Không có học bạ nào đã ký số để khóa."), http_status=409)
    archived = set(
        RecordDocument.objects.filter(record_id__in=ids, state=DocumentState.ARCHIVED).values_list(
            "record_id", flat=True
        )
    )
    ready = [pk for pk in ids if pk in archived]
    if not ready:
        raise DomainError(
            "records.not_archived", _("Các học bạ đã ký chưa được lưu trữ nên chưa khóa được."), http_status=409
        )
    moved = RecordBook.objects.filter(pk__in=ready, state=RecordState.SIGNED).update(
        state=RecordState.LOCKED, locked_at=timezone.now(), locked_by=access.account_id
    )
    _rollups(access, school_class, **_deltas({RecordState.SIGNED: moved}, RecordState.LOCKED))
    return Locked(moved, tuple(sorted(set(ids) - archived)))


@school_write
def record_revoke(*, access: SchoolAccess, record: RecordBook, reason: str) -> RecordBook:
    """The principal revokes a signed or locked record (reason ≥ 10 characters): back to draft, to be corrected,
    approved and signed again. Its current document is superseded (its archived copy stays: Object Lock) and the
    public index answers "superseded". After a lock the windows refuse it (423) unless an exception covers the
    record, as for any reopening."""
    if not access.can("records.revoke"):
        raise NotAllowed("records.revoke_not_allowed", _("Chỉ Hiệu trưởng mới thu hồi được học bạ đã ký."))
    reason = " ".join((reason or "").split())
    if len(reason) < REASON_MIN:
        raise DomainError(
            "records.revoke_reason_required",
            _("Cần ghi rõ lý do thu hồi học bạ đã ký (ít nhất %(min)s ký tự)."),
            params={"min": REASON_MIN},
            field="reason",
        )
    record = (
        RecordBook.objects.select_for_update(of=("self",))
        .select_related("school_class__year", "student")
        .get(pk=record.pk)
    )
    if record.state not in (RecordState.SIGNED, RecordState.LOCKED):
        raise DomainError("records.not_revocable", _("Chỉ thu hồi được học bạ đã ký số hoặc đã khóa."), http_status=409)
    previous, first_reopen = record.state, not record.reopened_reason
    now = timezone.now()
    RecordBook.objects.filter(pk=record.pk).update(
        state=RecordState.DRAFT,
        revoked_at=now,
        revoked_by=access.account_id,
        revoked_reason=reason,
        reopened_reason=reason,
        signed_at=None,
        sealed_by=None,
        locked_at=None,
        locked_by=None,
    )
    current = list(RecordDocument.objects.select_for_update().filter(record=record).exclude(state="superseded"))
    archived = sum(1 for d in current if d.state == DocumentState.ARCHIVED)
    RecordDocument.objects.filter(pk__in=[d.pk for d in current]).update(
        state=DocumentState.SUPERSEDED, superseded_at=now, revoked_reason=reason, revoked_by=access.account_id
    )
    DocumentContent.objects.filter(document_id__in=[d.pk for d in current]).delete()
    for d in current:
        verification.index_superseded(uid=d.uid, at=now)
    school_class = record.school_class
    _rollups(
        access,
        school_class,
        records_reopened=int(first_reopen),
        records_archived=-archived,
        **_deltas({previous: 1}, RecordState.DRAFT),
    )
    distribution_add(
        school_id=access.school_id,
        year_start=school_class.year.start_year,
        grade=school_class.grade,
        records=[record],
        sign=-1,
    )
    record.refresh_from_db()
    return record

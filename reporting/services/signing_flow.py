"""How people sign record books (issue 10, Build 2): a signer reviews and confirms once for all records of a class at
their step, and a job signs them; the principal signs and seals the school's year in one job.

* ``class_overview``: each record of a class with its chain (who signed, who is next) and the steps the person holds
  now — a subject teacher's subjects (with the frozen results they confirm), the homeroom teacher, the principal, the
  seal (principal or clerk). Constant queries per page.
* ``confirmation_check`` / ``confirmation_start``: a confirmation out of order, by the wrong person, without TOTP, or
  with nothing waiting is refused (nothing changed); else a job (``sign_class``) signs every record of the class for
  that step. A record without a document is rendered on its first signature (``document_create``).
* ``sign_class`` / ``sign_year`` (jobs, school side): idempotent and resumable — a record already signed at the step is
  skipped — with one progress row per record; the audit actor is the signer (``signing.acting_for``). After the seal
  each document goes to the archive (``archive.archive_document``); the store down or without Object Lock leaves
  it sealed, not archived (the archive job takes it up later).
* Remote keys (CSC): the job waits for the provider (the signer approves on their phone); the page polls the job.
* Device keys (the signer's own USB token): ``device_session_start`` keeps the work in the cache under a random id;
  the signer's local app asks for the next digest (``device_next``) and returns the signature (``device_submit``) —
  the API ``/api/v1/signing/device/<pending>/``.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError, Message, NotAllowed
from hocba.kernel.roles import Role
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields

from schools.access import SchoolAccess, school_access
from schools.models import RecordBook, RecordState, SchoolClass, SchoolYear, Subject, TeachingAssignment
from tenants.selectors import account_briefs, account_names, membership_list, school_list, unit_tree_on
from tenants.services.jobs import JobInfo, JobProgress, RowOutcome, job_create, job_task

from ..models import DocumentContent, DocumentSignature, DocumentState, RecordDocument, SignatureStep, new_token
from ..pdf import render_record_book, school_heading
from ..signing import Appearance, SigningFailed, device_complete, device_prepare
from ..signing.device import PendingSignature
from ..signing.keys import KeyRef, account_key, seal_key
from ..verify.links import verification_url
from . import archive, manifests, signing

SIGN_KIND = "reporting.sign_class"
YEAR_KIND = "reporting.sign_year"
RETRIES = 8  # a document signed by someone else meanwhile (teachers of other subjects): read its new bytes, sign again
DEVICE_TTL = 30 * 60  # seconds a device session stays open
STEP_LABELS = dict(SignatureStep.choices)
SERVER_HELD = frozenset({"pkcs12", "pkcs11"})


# --- who signs with which key ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchoolPlace:
    school_id: int
    moet_code: str
    province_code: str


def school_place(school_id: int) -> SchoolPlace:
    found = school_list(school_ids=[school_id])
    if not found:
        raise ValueError(f"school {school_id} does not exist")
    school = found[0]
    tree = unit_tree_on()
    path = tree.path(school.unit_id) if school.unit_id in tree.nodes else []
    province = (path[0].official_code or str(path[0].id)) if path else ""
    return SchoolPlace(school.id, school.moet_code, province)


def key_for(*, access: SchoolAccess, step: str, place: SchoolPlace | None = None) -> KeyRef:
    """The key of this signature: the school's seal for the seal, else the person's own key."""
    place = place or school_place(access.school_id)
    if step == SignatureStep.SEAL:
        return seal_key(school_code=place.moet_code, province_code=place.province_code)
    briefs = account_briefs([access.account_id]) if access.account_id is not None else []
    if not briefs:
        raise SigningFailed(_("Chưa cấu hình khóa ký số cho người ký này; hãy liên hệ quản trị hệ thống."))
    return account_key(username=briefs[0].username, province_code=place.province_code)


def _failed(exc: SigningFailed) -> DomainError:
    return DomainError("signing.failed", exc.message, http_status=502)


# --- the document and its fields ---------------------------------------------------------------------------------


def with_signature_fields(pdf: bytes, boxes: dict[str, Any]) -> bytes:
    """The rendered PDF with an empty signature field at each box of the layout (``subject-<code>``, ``homeroom``,
    ``principal``, ``seal``): every later signature fills its own field (form filling: earlier ones stay valid)."""
    if not boxes:
        return pdf
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    for name, box in sorted(boxes.items()):
        fields.append_signature_field(
            writer,
            fields.SigFieldSpec(sig_field_name=name, on_page=box.page, box=tuple(round(v) for v in box.rect)),
        )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def document_ready(*, access: SchoolAccess, record: RecordBook) -> RecordDocument:
    """The record's current document; rendered (from its frozen results, with its signature fields and the QR code
    of its token) when it has none — on its first signature."""
    current = RecordDocument.objects.filter(record=record).exclude(state=DocumentState.SUPERSEDED).first()
    if current is not None:
        return current
    token = new_token()
    rendered = render_record_book(record, verify_url=verification_url(token), school=school_heading(access.school_id))
    return signing.document_create(
        access=access,
        record=record,
        pdf=with_signature_fields(rendered.pdf, rendered.boxes),
        template_version=rendered.template,
        pages=rendered.pages,
        token=token,
    )


def field_name(step: str, subject: Subject | None, pdf: bytes, account_id: int | None) -> str:
    """The signature field of a step: the one the layout placed; a shared subject's second teacher, a field of their
    own (invisible)."""
    name = f"subject-{subject.code}" if subject is not None else str(step)
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    filled = {n for n, value, _ref in fields.enumerate_sig_fields(reader) if value is not None}
    return f"{name}-{account_id}" if name in filled else name


def _certificate(pdf: bytes) -> tuple[str, str]:
    """The last signature's certificate: subject and serial (as the chain's row keeps them)."""
    signature = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures[-1]
    cert = signature.signer_cert
    return cert.subject.human_friendly, format(cert.serial_number, "X")


def _signer_name(access: SchoolAccess, step: str, place: SchoolPlace) -> str:
    if step == SignatureStep.SEAL:
        found = school_list(school_ids=[place.school_id])
        return found[0].name if found else ""
    return account_names([access.account_id]).get(access.account_id, "") if access.account_id else ""


def _appearance(step: str, name: str) -> Appearance:
    """What the signature's box shows: the step (not in a subject's small cell), the signer, the time."""
    if step == SignatureStep.SUBJECT:
        return Appearance(text=f"{name}\n{{ts}}")
    return Appearance(text=f"{STEP_LABELS[step]}\n{name}\n{{ts}}")


@dataclass(frozen=True)
class Signed:
    signature: DocumentSignature | None  # None: the step was signed already (skipped)


def _done_already(document: RecordDocument, access: SchoolAccess, step: str, subject: Subject | None) -> bool:
    state = signing.chain_state(document)
    return any(
        s.step == step and (subject is None or s.subject_id == subject.pk) and s.may_sign(access) for s in state.done
    ) and not any(
        s.step == step and (subject is None or s.subject_id == subject.pk) and s.may_sign(access) for s in state.pending
    )


def sign_document(
    *,
    access: SchoolAccess,
    document: RecordDocument,
    step: str,
    subject: Subject | None = None,
    key: KeyRef,
    place: SchoolPlace,
) -> Signed:
    """One signature with a server-side key (local, PKCS#11, remote): checked first (nothing signed when refused),
    signed outside any transaction (a remote provider may wait for the signer's phone), then recorded. Someone else
    signing the same document meanwhile: the new bytes are read and signed again."""
    name = _signer_name(access, step, place)
    for _attempt in range(RETRIES):
        document = RecordDocument.objects.select_related("record", "school_class__year").get(pk=document.pk)
        if document.state in (DocumentState.RENDERED, DocumentState.SIGNING) and _done_already(
            document, access, step, subject
        ):
            return Signed(None)
        if (
            document.state not in (DocumentState.RENDERED, DocumentState.SIGNING)
            and document.signatures.filter(step=step).exists()
        ):
            return Signed(None)
        signing.signature_check(access=access, document=document, step=step, subject=subject)
        current = bytes(DocumentContent.objects.get(document=document).pdf)
        try:
            pdf = key.signer().sign(
                current,
                field=field_name(step, subject, current, access.account_id),
                reason=str(STEP_LABELS[step]),
                name=name,
                location=place.moet_code,
                appearance=_appearance(step, name),
            )
        except SigningFailed as exc:
            raise _failed(exc) from exc
        subject_dn, serial = _certificate(pdf)
        try:
            return Signed(
                signing.signature_add(
                    access=access,
                    document=document,
                    step=step,
                    subject=subject,
                    pdf=pdf,
                    certificate_subject=subject_dn,
                    certificate_serial=serial,
                    backend=key.backend,
                )
            )
        except DomainError as exc:
            if exc.code != "signing.not_incremental":
                raise
    raise DomainError(
        "signing.busy", _("Học bạ đang được người khác ký cùng lúc; hãy thử lại sau ít phút."), http_status=409
    )


def manifests_write(access: SchoolAccess, records: Iterable[RecordBook]) -> None:
    """After a job sealed (and archived) documents: the signed manifest of each of their classes, what the class's
    bundle lists (a new revision only when its files changed; none while nothing is archived). The store down or
    refusing: the signatures stand, and the archive job writes the manifest with the documents it takes up later."""
    for school_class in {r.school_class_id: r.school_class for r in records}.values():
        try:
            manifests.manifest_write(access=access, school_class=school_class)
        except (archive.ArchiveUnavailable, DomainError):  # the documents stay archived; the manifest comes later
            continue


def archive_sealed(access: SchoolAccess, document: RecordDocument) -> bool:
    """After the seal: the document to the archive. False when the store is down or refuses (no Object Lock): the
    document stays sealed, not archived, for the archive job to take up."""
    try:
        archive.archive_document(access=access, document=document)
    except (archive.ArchiveUnavailable, archive.ArchiveRefused):
        return False
    return True


# --- the class page ------------------------------------------------------------------------------------------------


@dataclass
class RecordChain:
    record: RecordBook
    document: RecordDocument | None
    signed: list[dict[str, Any]] = field(default_factory=list)  # step label, subject, initials, time
    next_label: str = ""
    next_names: list[str] = field(default_factory=list)


@dataclass
class MyStep:
    """A step this person holds in the class: how many records wait for it, and (a subject) what they confirm."""

    step: str
    label: str
    subject: Subject | None
    ready: int
    results: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Overview:
    chains: list[RecordChain]
    mine: list[MyStep]


def _class_records(school_class: SchoolClass) -> list[RecordBook]:
    return list(
        RecordBook.objects.filter(school_class=school_class)
        .select_related("student")
        .order_by("student__sort_key", "student_id")
    )


def _states(
    school_class: SchoolClass, documents: Iterable[RecordDocument], teachers: dict[int, list[int]] | None = None
) -> dict[int, signing.ChainState]:
    """The chain of each document (and, under 0, of a record with no document yet): two queries."""
    documents = list(documents)
    teachers = signing._assignments(school_class.pk) if teachers is None else teachers
    signed: dict[int, list[tuple[str, int | None, int]]] = {}
    for document_id, step, subject_id, signer_id in DocumentSignature.objects.filter(
        document__in=documents
    ).values_list("document_id", "step", "subject_id", "signer_id"):
        signed.setdefault(document_id, []).append((step, subject_id, signer_id))
    states = {d.pk: signing._chain(school_class.homeroom_teacher_id, teachers, signed.get(d.pk, ())) for d in documents}
    states[0] = signing._chain(school_class.homeroom_teacher_id, teachers, ())  # a record with no document yet
    return states


def class_overview(*, access: SchoolAccess, school_class: SchoolClass) -> Overview:
    """Each record's chain and the steps this person holds now; seven queries whatever the class's size."""
    records = _class_records(school_class)
    documents = {
        d.record_id: d
        for d in RecordDocument.objects.filter(record__in=records).exclude(state=DocumentState.SUPERSEDED)
    }
    teachers = signing._assignments(school_class.pk)
    states = _states(school_class, documents.values(), teachers)
    signatures: dict[int, list[DocumentSignature]] = {}
    for s in DocumentSignature.objects.filter(document__in=list(documents.values())).select_related("subject"):
        signatures.setdefault(s.document_id, []).append(s)
    people = {school_class.homeroom_teacher_id} | {t for ts in teachers.values() for t in ts}
    names = account_names({p for p in people if p})
    subjects = {s.pk: s for s in Subject.objects.filter(pk__in=list(teachers))}
    chains: list[RecordChain] = []
    waiting: dict[tuple[str, int | None], int] = {}
    for record in records:
        document = documents.get(record.pk)
        chain = RecordChain(record, document)
        for s in sorted(signatures.get(document.pk, []) if document else [], key=lambda s: s.seq):
            chain.signed.append(
                {
                    "step": STEP_LABELS[s.step],
                    "subject": s.subject.name if s.subject else "",
                    "initials": s.signer_initials,
                    "at": s.signed_at,
                }
            )
        signable = record.state == RecordState.APPROVED and (
            document is None or document.state in (DocumentState.RENDERED, DocumentState.SIGNING)
        )
        if signable:
            state = states[document.pk if document else 0]
            step = state.next_step()
            if step is not None:
                pending = [s for s in state.pending if s.step == step]
                chain.next_label = str(STEP_LABELS[step])
                for seat in pending:
                    if seat.account_id:
                        who = names.get(seat.account_id, "")
                        if seat.subject_id in subjects:
                            who = f"{subjects[seat.subject_id].name}: {who}"
                        chain.next_names.append(who)
                    if seat.may_sign(access):
                        key = (seat.step, seat.subject_id)
                        waiting[key] = waiting.get(key, 0) + 1
        chains.append(chain)
    mine: list[MyStep] = []
    for (step, subject_id), count in sorted(
        waiting.items(), key=lambda kv: (signing.STEP_ORDER.index(kv[0][0]), kv[0][1] or 0)
    ):
        capability = "records.seal" if step == SignatureStep.SEAL else "records.sign"
        if not access.can(capability):
            continue
        subject = subjects.get(subject_id) if subject_id else None
        item = MyStep(step, str(STEP_LABELS[step]), subject, count)
        if subject is not None:
            for chain in chains:
                if chain.next_label and chain.record.state == RecordState.APPROVED:
                    line = next(
                        (x for x in (chain.record.results or {}).get("subjects", []) if x.get("code") == subject.code),
                        {},
                    )
                    item.results.append(
                        {"student": chain.record.student.full_name, "year": line.get("year", ""), "line": line}
                    )
        mine.append(item)
    return Overview(chains, mine)


# --- confirmation and the class job --------------------------------------------------------------------------------


def subject_of(subject_id: Any) -> Subject | None:
    """The subject a form or a job names (None: none named); a bad id is refused."""
    if subject_id in (None, "", 0):
        return None
    try:
        return Subject.objects.get(pk=int(subject_id))
    except (Subject.DoesNotExist, TypeError, ValueError):
        raise DomainError("signing.bad_subject", _("Môn học không hợp lệ."), field="subject") from None


def year_of(year_id: Any) -> SchoolYear | None:
    """The school's year a form names, or None."""
    text = str(year_id or "").strip()
    return SchoolYear.objects.filter(pk=int(text)).first() if text.isdigit() else None


def _approved(school_class: SchoolClass) -> list[RecordBook]:
    return [r for r in _class_records(school_class) if r.state == RecordState.APPROVED]


def confirmation_check(
    *, access: SchoolAccess, school_class: SchoolClass, step: str, subject: Subject | None
) -> list[RecordBook]:
    """The approved records of the class that wait for this person's signature at ``step`` — or the refusal saying
    why none does (out of order, the wrong person, no TOTP, nothing approved). Writes nothing."""
    if step not in signing.STEP_ORDER:
        raise DomainError("signing.bad_step", _("Bước ký không hợp lệ."), field="step")
    capability = "records.seal" if step == SignatureStep.SEAL else "records.sign"
    if not access.can(capability):
        raise NotAllowed("signing.not_allowed", _("Bạn không có quyền ký số học bạ ở bước này."))
    if (step == SignatureStep.SUBJECT) != (subject is not None):
        raise DomainError(
            "signing.subject_required", _("Chữ ký của giáo viên bộ môn phải nêu môn học."), field="subject"
        )
    approved = _approved(school_class)
    if not approved:
        raise DomainError(
            "signing.nothing_approved",
            _("Lớp chưa có học bạ nào được Hiệu trưởng duyệt để ký số."),
            http_status=409,
        )
    documents = {
        d.record_id: d
        for d in RecordDocument.objects.filter(record__in=approved).exclude(state=DocumentState.SUPERSEDED)
    }
    states = _states(school_class, documents.values())
    ready: list[RecordBook] = []
    refusal: DomainError | None = None
    for record in approved:
        document = documents.get(record.pk)
        if document is not None and document.state not in signing.SIGNABLE:
            continue
        state = states[document.pk if document else 0]
        if state.next_step() != step:
            refusal = refusal or signing._refuse_order(state, step)
            continue
        seats = [s for s in state.pending if s.step == step and (subject is None or s.subject_id == subject.pk)]
        if not any(s.may_sign(access) for s in seats):
            refusal = refusal or NotAllowed(
                "signing.wrong_person",
                _(
                    "Bạn không phải người ký ở bước này (%(step)s). Người ký môn học là giáo viên được phân công dạy "
                    "môn đó ở lớp vào lúc ký."
                ),
                params={"step": STEP_LABELS[step]},
            )
            continue
        ready.append(record)
    if not ready:
        raise refusal or DomainError(
            "signing.nothing_waiting", _("Không có học bạ nào đang chờ bạn ký ở bước này."), http_status=409
        )
    problem = signing.totp_problem(access.account_id)
    if problem is not None:
        raise problem
    return ready


def signer_role(access: SchoolAccess, step: str) -> Role:
    """The role a person signs in at ``step`` (the audit's actor role)."""
    preferred = {
        SignatureStep.SUBJECT: (Role.SUBJECT_TEACHER, Role.DEPARTMENT_HEAD, Role.HOMEROOM_TEACHER, Role.VICE_PRINCIPAL),
        SignatureStep.HOMEROOM: (Role.HOMEROOM_TEACHER,),
        SignatureStep.PRINCIPAL: (Role.PRINCIPAL,),
        SignatureStep.SEAL: (Role.PRINCIPAL, Role.CLERK),
    }[step]
    return next((r for r in preferred if r in access.roles), next(iter(sorted(access.roles)), Role.PRINCIPAL))


def confirmation_start(
    *, access: SchoolAccess, school_class: SchoolClass, step: str, subject: Subject | None, back_url: str = ""
) -> int:
    """Check the confirmation, then queue the job that signs every waiting record of the class at ``step`` with the
    person's key (a device key: use ``device_session_start``); returns the job's id."""
    ready = confirmation_check(access=access, school_class=school_class, step=step, subject=subject)
    title = (
        Message(_("Ký số học bạ lớp %(c)s — môn %(s)s"), {"c": school_class.name, "s": subject.name})
        if subject is not None
        else Message(_("Ký số học bạ lớp %(c)s — %(step)s"), {"c": school_class.name, "step": STEP_LABELS[step]})
    )
    return job_create(
        kind=SIGN_KIND,
        requested_by=access.account_id,
        capability="records.seal" if step == SignatureStep.SEAL else "records.sign",
        school_id=access.school_id,
        total=len(ready),
        params={
            "school_class": school_class.pk,
            "step": step,
            "subject": subject.pk if subject else None,
            "records": [r.pk for r in ready],  # in this order: a redelivered job numbers its rows the same way
        },
        task=sign_class,
        schema_name=connection.schema_name,
        title=title,
        back_url=back_url,
    )


def _requester_access(job: JobInfo) -> SchoolAccess:
    roles = {m.role for m in membership_list(school_ids=[job.school_id]) if m.account_id == job.requested_by_id}
    return school_access(job.requested_by_id, job.school_id, roles)


def _sign_records(
    access: SchoolAccess,
    records: list[RecordBook],
    steps: tuple[str, ...],
    subject: Subject | None,
    progress: JobProgress,
    first_number: int = 1,
) -> tuple[int, int]:
    """Sign each record at ``steps`` (in order), one progress row per record; (signed, archived)."""
    place = school_place(access.school_id)
    keys = {step: key_for(access=access, step=step, place=place) for step in steps}
    signed = archived = 0
    for number, record in enumerate(records, start=first_number):
        if number in progress.recorded:
            continue
        label = record.student.full_name
        group = record.school_class.name
        try:
            document = document_ready(access=access, record=record)
            did = []
            for step in steps:
                with signing.acting_for(account_id=access.account_id, role=signer_role(access, step), source="job"):
                    result = sign_document(
                        access=access, document=document, step=step, subject=subject, key=keys[step], place=place
                    )
                did.append(result.signature is not None)
            document.refresh_from_db()
            stored = document.state == DocumentState.SEALED and archive_sealed(access, document)
        except DomainError as exc:
            progress.row(number, key=label, group=group, outcome=RowOutcome.ERROR, error=exc)
            continue
        if not any(did):
            progress.row(number, key=label, group=group, outcome=RowOutcome.SKIPPED, message=_("Đã ký trước đó."))
            continue
        signed += 1
        archived += int(stored)
        if stored:  # archived: ``document`` (read before) still says sealed
            message = _("Đã ký, đóng dấu và lưu trữ.")
        elif document.state == DocumentState.SEALED:
            message = _("Đã đóng dấu số; chưa lưu trữ (kho lưu trữ chưa sẵn sàng, sẽ lưu sau).")
        else:
            message = _("Đã ký số.")
        progress.row(
            number,
            key=label,
            group=group,
            outcome=RowOutcome.UPDATED,
            message=message,
            data={"record": record.pk, "document": str(document.uid)},
        )
    return signed, archived


def _records_in_order(ids: list[int]) -> list[RecordBook]:
    found = RecordBook.objects.select_related("student", "school_class__year").in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


@job_task(SIGN_KIND, school=True)
def sign_class(job: JobInfo, progress: JobProgress) -> tuple[Any, dict[str, Any]] | None:
    """Sign every waiting record of the job's class at its step, for the person who confirmed."""
    access = _requester_access(job)
    school_class = SchoolClass.objects.select_related("year").get(pk=job.params["school_class"])
    step = job.params["step"]
    subject = subject_of(job.params.get("subject"))
    records = _records_in_order(job.params["records"])
    with signing.acting_for(account_id=access.account_id, role=signer_role(access, step), source="job"):
        signed, _archived = _sign_records(access, records, (step,), subject, progress)
    if step == SignatureStep.SEAL:
        manifests_write(access, records)
    return _("Đã ký %(n)s học bạ lớp %(c)s."), {"n": signed, "c": school_class.name}


# --- the principal's year-end job --------------------------------------------------------------------------------


@dataclass(frozen=True)
class YearCounts:
    ready: int  # every earlier step done: the principal signs and seals
    sealed: int  # sealed or archived
    waiting: int  # earlier steps still missing (or not approved)


def _year_documents(year: SchoolYear) -> list[RecordDocument]:
    return list(
        RecordDocument.objects.filter(
            school_class__year=year,
            record__isnull=False,
            state__in=signing.SIGNABLE,
            record__state=RecordState.APPROVED,
        )
        .select_related("record__student", "school_class__year")
        .order_by("school_class__name", "record__student__sort_key", "pk")
    )


def year_ready(year: SchoolYear) -> list[RecordDocument]:
    """The school's documents of the year whose subject and homeroom signatures are all done: three queries."""
    documents = _year_documents(year)
    teachers: dict[int, dict[int, list[int]]] = {}
    for class_id, subject_id, teacher_id in (
        TeachingAssignment.objects.filter(school_class__year=year)
        .order_by("school_class_id", "subject_id", "teacher_id")
        .values_list("school_class_id", "subject_id", "teacher_id")
    ):
        teachers.setdefault(class_id, {}).setdefault(subject_id, []).append(teacher_id)
    signed: dict[int, list[tuple[str, int | None, int]]] = {}
    for document_id, step, subject_id, signer_id in DocumentSignature.objects.filter(
        document__in=documents
    ).values_list("document_id", "step", "subject_id", "signer_id"):
        signed.setdefault(document_id, []).append((step, subject_id, signer_id))
    return [
        d
        for d in documents
        if signing._chain(
            d.school_class.homeroom_teacher_id, teachers.get(d.school_class_id, {}), signed.get(d.pk, ())
        ).next_step()
        in (SignatureStep.PRINCIPAL, SignatureStep.SEAL)
    ]


def year_counts(year: SchoolYear) -> YearCounts:
    ready = len(year_ready(year))
    sealed = RecordDocument.objects.filter(
        school_class__year=year, record__isnull=False, state__in=(DocumentState.SEALED, DocumentState.ARCHIVED)
    ).count()
    approved = RecordBook.objects.filter(school_class__year=year, state=RecordState.APPROVED).count()
    return YearCounts(ready, sealed, max(approved - ready, 0))


def year_check(*, access: SchoolAccess, year: SchoolYear) -> list[RecordDocument]:
    """The documents the principal's year-end job would sign, or the refusal saying why it may not run."""
    if not (access.can("records.sign") and access.can("records.seal") and Role.PRINCIPAL in access.roles):
        raise NotAllowed("signing.year_not_allowed", _("Chỉ Hiệu trưởng mới ký và đóng dấu cả năm học của trường."))
    ready = year_ready(year)
    if not ready:
        raise DomainError(
            "signing.nothing_waiting",
            _("Chưa có học bạ nào đủ chữ ký của giáo viên để Hiệu trưởng ký và đóng dấu."),
            http_status=409,
        )
    problem = signing.totp_problem(access.account_id)
    if problem is not None:
        raise problem
    return ready


def year_start(*, access: SchoolAccess, year: SchoolYear, back_url: str = "") -> int:
    """The principal signs and seals every record of the school's year whose earlier steps are done: one job."""
    ready = year_check(access=access, year=year)
    return job_create(
        kind=YEAR_KIND,
        requested_by=access.account_id,
        capability="records.seal",
        school_id=access.school_id,
        total=len(ready),
        params={"year": year.pk, "records": [d.record_id for d in ready]},
        task=sign_year,
        schema_name=connection.schema_name,
        title=Message(_("Ký số và đóng dấu học bạ năm học %(y)s"), {"y": year.label}),
        back_url=back_url,
    )


@job_task(YEAR_KIND, school=True)
def sign_year(job: JobInfo, progress: JobProgress) -> tuple[Any, dict[str, Any]] | None:
    """The principal's signature and the seal over every ready record of the year (resumable: signed steps skip)."""
    access = _requester_access(job)
    records = _records_in_order(job.params["records"])
    with signing.acting_for(account_id=access.account_id, role=Role.PRINCIPAL, source="job"):
        signed, archived = _sign_records(access, records, (SignatureStep.PRINCIPAL, SignatureStep.SEAL), None, progress)
    manifests_write(access, records)
    return _("Đã ký và đóng dấu %(n)s học bạ; %(a)s học bạ đã lưu trữ."), {"n": signed, "a": archived}


# --- the signer's own device ---------------------------------------------------------------------------------------


def _device_key(pending: str) -> str:
    return f"signing:device:{pending}"


def device_session_start(*, access: SchoolAccess, school_class: SchoolClass, step: str, subject: Subject | None) -> str:
    """Check the confirmation (as for a job) and open a device session: its random id, for the signer's local app."""
    ready = confirmation_check(access=access, school_class=school_class, step=step, subject=subject)
    key = key_for(access=access, step=step)
    if not key.is_device:
        raise DomainError("signing.not_device", _("Khóa ký của bạn không nằm trên thiết bị."), http_status=409)
    pending = secrets.token_urlsafe(24)
    cache.set(
        _device_key(pending),
        {
            "school_id": access.school_id,
            "account_id": access.account_id,
            "class": school_class.pk,
            "step": step,
            "subject": subject.pk if subject else None,
            "records": [r.pk for r in ready],
            "prepared": None,
        },
        DEVICE_TTL,
    )
    return pending


def _device_session(access: SchoolAccess, pending: str) -> dict[str, Any]:
    session = cache.get(_device_key(pending))
    if not session or session["school_id"] != access.school_id or session["account_id"] != access.account_id:
        raise DomainError(
            "signing.device_unknown", _("Phiên ký bằng thiết bị không tồn tại hoặc đã hết hạn."), http_status=404
        )
    return session


@dataclass(frozen=True)
class DeviceStep:
    """What the device signs next (``data_to_sign``: the CMS signed attributes; ``digest``: their SHA-256), or done."""

    remaining: int
    document: str = ""
    student: str = ""
    data_to_sign: bytes = b""
    digest: bytes = b""


def _device_next_record(access: SchoolAccess, session: dict[str, Any]) -> tuple[RecordBook, RecordDocument] | None:
    subject = subject_of(session["subject"])
    for record in RecordBook.objects.filter(pk__in=session["records"]).select_related("student", "school_class__year"):
        if record.state != RecordState.APPROVED:
            continue
        document = document_ready(access=access, record=record)
        if document.state in signing.SIGNABLE and not _done_already(document, access, session["step"], subject):
            return record, document
    return None


def device_next(*, access: SchoolAccess, pending: str) -> DeviceStep:
    """Prepare the next record of the session for the device: the document with its placeholder, and the bytes the
    device signs. Done: ``remaining`` 0."""
    session = _device_session(access, pending)
    found = _device_next_record(access, session)
    if found is None:
        cache.delete(_device_key(pending))
        return DeviceStep(0)
    record, document = found
    step, subject = session["step"], subject_of(session["subject"])
    signing.signature_check(access=access, document=document, step=step, subject=subject)
    place = school_place(access.school_id)
    key = key_for(access=access, step=step, place=place)
    certificate, chain = key.device_certificate()
    current = bytes(DocumentContent.objects.get(document=document).pdf)
    name = _signer_name(access, step, place)
    try:
        prepared = device_prepare(
            current,
            certificate=certificate,
            chain=chain,
            field=field_name(step, subject, current, access.account_id),
            reason=str(STEP_LABELS[step]),
            name=name,
            location=place.moet_code,
            appearance=_appearance(step, name),
        )
    except SigningFailed as exc:
        raise _failed(exc) from exc
    session["prepared"] = {"document": document.pk, "base": hashlib.sha256(current).hexdigest(), **prepared.to_dict()}
    cache.set(_device_key(pending), session, DEVICE_TTL)
    remaining = sum(1 for pk in session["records"] if pk != record.pk) + 1
    return DeviceStep(
        remaining, str(document.uid), record.student.full_name, prepared.data_to_sign, prepared.digest_to_sign
    )


def device_submit(*, access: SchoolAccess, pending: str, signature: bytes) -> RecordDocument:
    """Embed the device's signature value in the prepared document and record it (the signer as the audit actor)."""
    session = _device_session(access, pending)
    prepared = session.get("prepared")
    if not prepared:
        raise DomainError(
            "signing.device_not_prepared",
            _("Chưa có tài liệu nào được chuẩn bị để ký; hãy lấy mã cần ký trước."),
            http_status=409,
        )
    document = RecordDocument.objects.select_related("record", "school_class__year").get(pk=prepared["document"])
    current = bytes(DocumentContent.objects.get(document=document).pdf)
    if hashlib.sha256(current).hexdigest() != prepared["base"]:
        session["prepared"] = None
        cache.set(_device_key(pending), session, DEVICE_TTL)
        raise DomainError(
            "signing.device_stale",
            _("Học bạ vừa được người khác ký; hãy lấy lại mã cần ký và ký lại."),
            http_status=409,
        )
    step, subject = session["step"], subject_of(session["subject"])
    try:
        pdf = device_complete(PendingSignature.from_dict(prepared), signature)
    except SigningFailed as exc:
        raise DomainError("signing.device_refused", exc.message, http_status=400) from exc
    subject_dn, serial = _certificate(pdf)
    place_role = signer_role(access, step)
    with signing.acting_for(account_id=access.account_id, role=place_role, source="api"):
        signing.signature_add(
            access=access,
            document=document,
            step=step,
            subject=subject,
            pdf=pdf,
            certificate_subject=subject_dn,
            certificate_serial=serial,
            backend="token",
        )
    session["prepared"] = None
    session["records"] = [pk for pk in session["records"] if pk != document.record_id]
    cache.set(_device_key(pending), session, DEVICE_TTL)
    document.refresh_from_db()
    if document.state == DocumentState.SEALED:
        archive_sealed(access, document)
        document.refresh_from_db()
    return document

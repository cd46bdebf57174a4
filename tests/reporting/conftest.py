"""Fixtures of the signing tests: a test PKI made once per session (never on disk in the repository), small PDFs made
with WeasyPrint, and the signers of one record book (subject teachers, homeroom teacher, principal, the seal).

Other reporting tests may add their own fixtures in their own test files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from reporting.signing.pki import TEST_PKI_PASSPHRASE, Person, Province, Seal, TestPki

PROVINCE = Province("99", "Sở GD&ĐT Thử nghiệm")
SCHOOL = Seal("99000001", "Trường THCS An Thạnh")
PRINCIPAL = Person("anthanh.hieutruong", "Võ Thị Giang", SCHOOL.school_name)
HOMEROOM = Person("anthanh.gvcn", "Đỗ Văn Khánh", SCHOOL.school_name)
SUBJECTS = [
    "Ngữ văn", "Toán", "Tiếng Anh", "Giáo dục công dân", "Lịch sử và Địa lí", "Khoa học tự nhiên",
    "Công nghệ", "Tin học", "Giáo dục thể chất", "Nghệ thuật", "Hoạt động trải nghiệm", "Nội dung giáo dục địa phương",
]  # fmt: skip
TEACHER_NAMES = [
    "Ngô Thị Lan", "Trần Văn Bình", "Lê Thị Cúc", "Phạm Văn Dũng", "Hoàng Thị Hà", "Bùi Văn Hùng",
    "Đặng Thị Kim", "Lý Văn Long", "Mai Thị Nga", "Trịnh Văn Phát", "Vũ Thị Quyên", "Đinh Văn Sang",
]  # fmt: skip
TEACHERS = [Person(f"anthanh.gv{i + 1:02d}", name, SCHOOL.school_name) for i, name in enumerate(TEACHER_NAMES)]

PAGE_HTML = """<!doctype html><html lang="vi"><meta charset="utf-8">
<style>@page {{ size: A4; margin: 2cm }} body {{ font-family: sans-serif; font-size: 11pt }}
table {{ border-collapse: collapse; width: 100% }} td {{ border: 1px solid #000; padding: 2pt }}</style>
<h1>HỌC BẠ — {student}</h1><p>Năm học 2025–2026, lớp 8A1, {school}</p>
<table>{rows}</table>
<h2 style="page-break-before: always">Nhận xét của giáo viên chủ nhiệm</h2><p>Chăm ngoan, tiến bộ rõ rệt.</p>
</html>"""


def make_pdf(student: str = "Nguyễn Văn An") -> bytes:
    import weasyprint

    rows = "".join(f"<tr><td>{s}</td><td>8,5</td><td>Đạt</td></tr>" for s in SUBJECTS)
    html = PAGE_HTML.format(student=student, school=SCHOOL.school_name, rows=rows)
    return weasyprint.HTML(string=html).write_pdf()


@dataclass(frozen=True)
class Pki:
    directory: Path
    province: Province
    root_pem: bytes
    principal: Path
    homeroom: Path
    teachers: tuple[Path, ...]
    seal: Path
    tsa: Path
    outsider: Path  # a person certified by a CA nobody trusts
    outsider_root_pem: bytes

    @property
    def roots(self) -> list[bytes]:
        return [self.root_pem]


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    rsa = TestPki(directory, key_type="rsa")
    ecdsa = TestPki(directory, key_type="ecdsa")  # the same province root (kept on disk), P-256 leaves
    principal = rsa.person(PROVINCE, PRINCIPAL).path
    homeroom = rsa.person(PROVINCE, HOMEROOM).path
    teachers = tuple(ecdsa.person(PROVINCE, t).path for t in TEACHERS)
    seal = rsa.seal(PROVINCE, SCHOOL).path
    tsa = rsa.tsa(PROVINCE).path
    # An outsider: the same kind of certificate, issued by a root that is not the province's.
    outsider_pki = TestPki(directory / "outsider")
    outsider = outsider_pki.person(Province("00", "CA lạ"), Person("ke.gia.mao", "Kẻ Giả Mạo")).path
    return Pki(
        directory=directory,
        province=PROVINCE,
        root_pem=rsa.root_path(PROVINCE.code).read_bytes(),
        principal=principal,
        homeroom=homeroom,
        teachers=teachers,
        seal=seal,
        tsa=tsa,
        outsider=outsider,
        outsider_root_pem=outsider_pki.root_path("00").read_bytes(),
    )


@pytest.fixture(scope="session")
def record_pdf() -> bytes:
    return make_pdf()


@pytest.fixture(scope="session")
def signer_for():
    from reporting.signing.local import Pkcs12Signer

    def make(path: Path, **kwargs) -> Pkcs12Signer:
        return Pkcs12Signer(path, passphrase=TEST_PKI_PASSPHRASE, **kwargs)

    return make

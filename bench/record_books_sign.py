"""Signing figures of the record books (issue 10, build 7): CPU per signature, ours against stock pyHanko measured in
the same run, where the time goes, and the size and validation time of a record with 15 signatures (12 subject
teachers + homeroom + principal + seal).

``measure(scale)`` returns the figures as a dict (the record_books benchmark imports it); run alone::

    python -m bench.record_books_sign [--scale small|full] [--out bench/results/record_books_sign.json]

No database: a test PKI in a temporary directory and a small two-page PDF made with WeasyPrint.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from django.conf import settings

from . import common

SIGNATURE_GOAL_CPU_S = 0.040
# Signatures are timed while signing records of 15 (the document grows as a real record's does); ``records`` of them.
SCALES = {"small": {"records": 1, "validations": 2}, "full": {"records": 4, "validations": 5}}
PER_RECORD = 15
TEXT = "Đã ký số\n{ts}"


def _setup(directory: Path):
    from reporting.signing.pki import Person, Province, Seal, TestPki

    province = Province("99", "Sở GD&ĐT Thử nghiệm")
    rsa = TestPki(directory, key_type="rsa")
    ecdsa = TestPki(directory, key_type="ecdsa")
    school = "Trường THCS An Thạnh"
    teachers = [ecdsa.person(province, Person(f"gv{i:02d}", f"Giáo Viên Số {i}", school)).path for i in range(12)]
    homeroom = rsa.person(province, Person("gvcn", "Đỗ Văn Khánh", school)).path
    principal = rsa.person(province, Person("hieutruong", "Võ Thị Giang", school)).path
    seal = rsa.seal(province, Seal("99000001", school)).path
    return rsa.root_path(province.code).read_bytes(), teachers, homeroom, principal, seal


def _pdf() -> bytes:
    import weasyprint

    rows = "".join(f"<tr><td>Môn {i}</td><td>8,5</td><td>Đạt</td></tr>" for i in range(12))
    html = (
        "<html lang=vi><meta charset=utf-8><h1>HỌC BẠ — Nguyễn Văn An</h1><table>" + rows + "</table>"
        "<h2 style='page-break-before: always'>Nhận xét</h2><p>Chăm ngoan.</p></html>"
    )
    return weasyprint.HTML(string=html).write_pdf()


def _box(i: int) -> tuple:
    return (-1, 40 + (i % 4) * 130, 60 + (i // 4) * 60, 160 + (i % 4) * 130, 110 + (i // 4) * 60)


# --- stock pyHanko, step by step towards ours (the same PDF, key and appearance) ------------------------------


def _stock_sign(pdf: bytes, path: Path, field: str, box: tuple, *, parsed=None, reserved=None, font=None) -> bytes:
    """pyHanko as its documentation shows it: the PKCS#12 loaded for the signature, a dry run to size the container,
    the appearance font read from the package's file. ``parsed``/``reserved``/``font`` switch on one of our fixes."""
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.sign import fields, signers
    from pyhanko.stamp import TextStampStyle

    from reporting.signing.fonts import appearance_font_path
    from reporting.signing.pki import TEST_PKI_PASSPHRASE

    signer = parsed or signers.SimpleSigner.load_pkcs12(str(path), passphrase=TEST_PKI_PASSPHRASE)
    page, x1, y1, x2, y2 = box
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    pages = int(writer.root["/Pages"]["/Count"])
    font = font or GlyphAccumulatorFactory(str(appearance_font_path()), font_size=9)
    pdf_signer = signers.PdfSigner(
        signers.PdfSignatureMetadata(field_name=field, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES),
        signer=signer,
        stamp_style=TextStampStyle(stamp_text="Đã ký số\n%(ts)s", text_box_style=TextBoxStyle(font=font, leading=11)),
        new_field_spec=fields.SigFieldSpec(field, on_page=page % pages, box=(x1, y1, x2, y2)),
    )
    out = io.BytesIO()
    pdf_signer.sign_pdf(writer, output=out, bytes_reserved=reserved)
    return out.getvalue()


def _cpu_per_signature(pdf: bytes, paths: list[Path], records: int, sign) -> list[float]:
    """CPU seconds of each signature while signing ``records`` records of PER_RECORD signatures each, one signature
    after another on the growing document."""
    times = []
    for _record in range(records):
        doc = pdf
        for i in range(PER_RECORD):
            start = time.process_time()
            doc = sign(doc, paths[i % len(paths)], f"ky_{i:02d}", _box(i))
            times.append(time.process_time() - start)
    return times


def measure(scale: str = "small") -> dict:
    from reporting.signing import Pkcs12Signer, validate
    from reporting.signing.fonts import signature_font
    from reporting.signing.local import clear_key_cache, load_pkcs12_file
    from reporting.signing.pki import TEST_PKI_PASSPHRASE

    size = SCALES[scale]
    records = size["records"]
    with tempfile.TemporaryDirectory(prefix="hocba-bench-pki-") as tmp:
        root, teachers, homeroom, principal, seal = _setup(Path(tmp))
        pdf = _pdf()
        rsa_paths = [homeroom, principal, seal]
        clear_key_cache()
        signers_ = {p: Pkcs12Signer(p, passphrase=TEST_PKI_PASSPHRASE) for p in [*teachers, *rsa_paths]}

        def ours(doc, path, field, box):
            return signers_[path].sign(doc, field=field, box=box, appearance=TEXT)

        def ours_invisible(doc, path, field, box):
            return signers_[path].sign(doc, field=field)

        reserved = {}

        def parsed_once(doc, path, field, box):
            return _stock_sign(doc, path, field, box, parsed=load_pkcs12_file(path, TEST_PKI_PASSPHRASE))

        def parsed_sized(doc, path, field, box):
            parsed = load_pkcs12_file(path, TEST_PKI_PASSPHRASE)
            if path not in reserved:
                reserved[path] = signers_[path]._reserved or 2 * 6000
            return _stock_sign(doc, path, field, box, parsed=parsed, reserved=reserved[path])

        # warm-up: imports, the first key parse, the cut font, the first container size
        _cpu_per_signature(pdf, rsa_paths, 1, ours)
        _stock_sign(pdf, principal, "warm", _box(0))
        variants = {
            "stock": lambda d, p, f, b: _stock_sign(d, p, f, b),
            "key_parsed_once": parsed_once,
            "key_once_container_sized_once": parsed_sized,
            "ours": ours,
            "ours_invisible": ours_invisible,
        }
        cpu = {name: _cpu_per_signature(pdf, rsa_paths, records, sign) for name, sign in variants.items()}

        # a record with 15 signatures: 12 subject teachers (ECDSA P-256), homeroom, principal, seal (RSA 2048)
        chain = [*teachers, homeroom, principal, seal]
        doc, sizes = pdf, []
        for i, path in enumerate(chain):
            doc = signers_[path].sign(doc, field=f"ky_{i:02d}", box=_box(i), appearance=TEXT)
            sizes.append(len(doc))
        wall, cpu_v = [], []
        for _ in range(size["validations"]):
            w0, c0 = time.perf_counter(), time.process_time()
            verdict = validate(doc, [root])
            wall.append(time.perf_counter() - w0)
            cpu_v.append(time.process_time() - c0)
        assert verdict.valid and len(verdict.signatures) == 15, verdict
        signature_font(9)  # (kept warm above)

    p50 = {name: statistics.median(values) for name, values in cpu.items()}
    return {
        "name": "record_books_sign",
        "metric": "cpu_per_signature",
        "unit": "s",
        "value": p50["ours"],
        "baseline": {
            "what": "stock pyHanko: PKCS#12 loaded per signature, dry-run sizing, full font",
            "value": p50["stock"],
        },
        "ratio": p50["stock"] / p50["ours"] if p50["ours"] else None,
        "goal": SIGNATURE_GOAL_CPU_S,
        "goal_met": p50["ours"] <= SIGNATURE_GOAL_CPU_S,
        "scale": scale,
        "runs": len(cpu["ours"]),
        "p50": p50["ours"],
        "p95": common.percentile(cpu["ours"], 95),
        "variants_p50": p50,
        "record_15_signatures": {
            "unsigned_bytes": len(pdf),
            "signed_bytes": len(doc),
            "bytes_per_signature": (len(doc) - len(pdf)) / 15,
            "validation_wall_p50_s": statistics.median(wall),
            "validation_cpu_p50_s": statistics.median(cpu_v),
            "validation_runs": len(wall),
        },
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.record_books_sign", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--out", type=Path, default=common.RESULTS_DIR / "record_books_sign.json")
    args = parser.parse_args(argv)
    if not settings.configured:
        settings.configure(USE_I18N=False)
    result = measure(args.scale)
    for name, value in result["variants_p50"].items():
        common.say(f"record_books_sign: {name}: {value * 1000:.1f} ms CPU per signature (p50)")
    record = result["record_15_signatures"]
    common.say(
        f"record_books_sign: 15 signatures: {record['signed_bytes']} bytes ({record['unsigned_bytes']} unsigned, "
        f"{record['bytes_per_signature']:.0f} per signature); validation {record['validation_wall_p50_s']:.2f} s wall, "
        f"{record['validation_cpu_p50_s']:.2f} s CPU"
    )
    common.say(
        f"record_books_sign: goal ≤ {SIGNATURE_GOAL_CPU_S * 1000:.0f} ms: {'met' if result['goal_met'] else 'NOT met'}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(common.rounded(result), indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

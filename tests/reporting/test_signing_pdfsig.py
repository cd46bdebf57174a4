"""The validation verdicts cross-checked with poppler's ``pdfsig`` (an independent implementation): the same
signatures, the same signers, the same integrity, the same coverage, the same bottom line on the bytes."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from reporting.signing import Outcome, validate

from .test_signing import _add_annotation, _append_page, _sign_chain


def _pdfsig(tmp_path, data: bytes) -> tuple[int, list[dict]]:
    if shutil.which("pdfsig") is None:
        pytest.fail("pdfsig is not installed (apt: poppler-utils; .ci/run installs it)")
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    run = subprocess.run(["pdfsig", "-nocert", str(path)], capture_output=True, text=True, timeout=60)
    signatures = []
    for block in re.split(r"^Signature #\d+:\s*$", run.stdout, flags=re.M)[1:]:
        common_name = re.search(r"Signer Certificate Common Name: (.*)", block)
        validation = re.search(r"Signature Validation: (.*)", block)
        signatures.append(
            {
                "signer": common_name.group(1).strip() if common_name else "",
                "valid": bool(validation) and validation.group(1).strip() == "Signature is Valid.",
                "total": "- Total document signed" in block,
            }
        )
    if "does not contain any signatures" in run.stdout + run.stderr:
        return 0, []  # pdfsig exits non-zero for an unsigned file: it is a verdict, not a failure
    return run.returncode, signatures


def _pdfsig_bottom_line(code: int, signatures: list[dict]) -> str:
    """What pdfsig's per-signature lines say about the document: a signature that does not match → altered; the last
    signature not covering the whole file → something was added after it → altered."""
    if code != 0 and not signatures:
        return "damaged_or_unsigned"
    if not signatures:
        return "unsigned"
    if not all(s["valid"] for s in signatures) or not signatures[-1]["total"]:
        return "altered"
    return "intact"


def _ours(outcome: Outcome) -> str:
    return {
        Outcome.VALID: "intact",
        Outcome.UNKNOWN_SIGNER: "intact",  # trust is not pdfsig's to judge here (-nocert)
        Outcome.ALTERED: "altered",
        Outcome.NOT_SIGNED: "unsigned",
        Outcome.DAMAGED: "damaged_or_unsigned",
    }[outcome]


@pytest.fixture(scope="module")
def documents(test_pki, signer_for, record_pdf):
    chain = _sign_chain(record_pdf, test_pki, signer_for, teachers=2)
    tampered = bytearray(chain)
    position = chain.index(b"stream\n") + 40
    tampered[position] ^= 0x01
    return {
        "signed chain": chain,
        "page appended": _append_page(chain),
        "annotation added": _add_annotation(chain),
        "byte changed": bytes(tampered),
        "unknown CA": signer_for(test_pki.outsider).sign(record_pdf, field="ky"),
        "unsigned": record_pdf,
    }


@pytest.mark.parametrize(
    "name", ["signed chain", "page appended", "annotation added", "byte changed", "unknown CA", "unsigned"]
)
def test_verdicts_agree_with_pdfsig(tmp_path, test_pki, documents, name):
    data = documents[name]
    verdict = validate(data, test_pki.roots)
    code, theirs = _pdfsig(tmp_path, data)
    assert _ours(verdict.outcome) == _pdfsig_bottom_line(code, theirs), (verdict, theirs)
    assert len(verdict.signatures) == len(theirs)
    for ours, pdfsig in zip(verdict.signatures, theirs, strict=True):
        assert ours.signer == pdfsig["signer"]
        assert (ours.intact and ours.valid) == pdfsig["valid"]
        assert (ours.coverage == "entire_file") == pdfsig["total"]
    expected = {
        "signed chain": Outcome.VALID,
        "page appended": Outcome.ALTERED,
        "annotation added": Outcome.ALTERED,
        "byte changed": Outcome.ALTERED,
        "unknown CA": Outcome.UNKNOWN_SIGNER,
        "unsigned": Outcome.NOT_SIGNED,
    }[name]
    assert verdict.outcome is expected

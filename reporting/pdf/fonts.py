"""The record book's fonts, from the PyPI packages ``fontpkg-source-serif-4`` (the serif text face) and
``fontpkg-be-vietnam-pro`` (the sans labels of the page furniture), never from the system.

Source Serif 4 ships as a variable font (axes ``opsz`` and ``wght``). WeasyPrint would instantiate it again in every
document, for every weight and size used (≈ 0.2 CPU-s a record book); instead the three faces the book uses (regular,
bold, italic) are cut once from the package's files — subset to the Vietnamese and Latin-1 repertoire, then pinned to
a static instance with fontTools — and kept in a cache folder under the system's temporary directory, named by a
digest of the package files and of the cut, so that a new font package or a new cut never reuses an old file. The cut
costs ≈ 5 CPU-s once per machine (a container: once per pod); every process after that only reads the files.
Be Vietnam Pro ships static faces: they are used as they are.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import threading
import unicodedata
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import fontpkg_be_vietnam_pro
import fontpkg_source_serif_4
from fontTools import subset
from fontTools.ttLib import TTFont
from fontTools.varLib.instancer import instantiateVariableFont

SERIF_FAMILY = "HocBa Serif"
SANS_FAMILY = "HocBa Sans"

# The letters of Vietnamese with every tone (NFC), the ASCII and Latin-1 blocks, and the punctuation and signs the
# book prints. Anything else falls back to what fontconfig finds (a name in another script still prints).
_VIETNAMESE_BASES = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_TONES = ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")
_SIGNS = "–—‘’“”„…•·°§№×÷±≤≥€₫«»©®™□■☐✓✔→←"


def _repertoire() -> tuple[int, ...]:
    chars = {chr(c) for c in range(0x20, 0x7F)} | {chr(c) for c in range(0xA0, 0x180)} | set(_SIGNS)
    for base in _VIETNAMESE_BASES:
        for tone in _TONES:
            for letter in (base, base.upper()):
                chars.add(unicodedata.normalize("NFC", letter + tone))
    return tuple(sorted(ord(c) for c in chars if len(c) == 1))


@dataclass(frozen=True)
class Cut:
    """One static face cut from a variable font file: its weight and optical size."""

    name: str
    source: str  # the file in the package's ``files`` folder
    weight: int
    style: str  # "normal" / "italic"
    optical_size: float = 11.0


SERIF_CUTS = (
    Cut("regular", "SourceSerif4[opsz,wght].ttf", 400, "normal"),
    Cut("bold", "SourceSerif4[opsz,wght].ttf", 700, "normal"),
    Cut("italic", "SourceSerif4-Italic[opsz,wght].ttf", 400, "italic"),
)
SANS_FACES = (
    ("BeVietnamPro-Regular.ttf", 400, "normal"),
    ("BeVietnamPro-SemiBold.ttf", 600, "normal"),
)
# Features the book needs (kerning, ligatures, marks over and under letters); the others only weigh.
_FEATURES = ["kern", "liga", "clig", "mark", "mkmk", "ccmp", "locl", "lnum", "tnum"]

_lock = threading.Lock()


def _cache_key() -> str:
    digest = hashlib.sha256()
    digest.update(f"fontTools {version('fonttools')};".encode())
    for path in sorted((Path(fontpkg_source_serif_4.ROOT) / "files").glob("*.ttf")):
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size};".encode())
    digest.update(repr((SERIF_CUTS, _FEATURES, _repertoire())).encode())
    return digest.hexdigest()[:16]


def cache_folder() -> Path:
    return Path(tempfile.gettempdir()) / "hocba-fonts" / _cache_key()


def _cut(cut: Cut) -> bytes:
    font = TTFont(Path(fontpkg_source_serif_4.ROOT) / "files" / cut.source, lazy=True)
    options = subset.Options()
    options.layout_features = _FEATURES
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    options.drop_tables += ["STAT", "DSIG"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=_repertoire())
    subsetter.subset(font)
    static = instantiateVariableFont(font, {"wght": cut.weight, "opsz": cut.optical_size}, static=True)
    out = io.BytesIO()
    static.save(out)
    return out.getvalue()


def serif_files() -> dict[Cut, Path]:
    """The static serif faces, cut now if this machine has not cut them yet (written whole, then renamed: two
    processes cutting at once both leave a whole file)."""
    folder = cache_folder()
    wanted = {cut: folder / f"serif-{cut.name}.ttf" for cut in SERIF_CUTS}
    if all(path.exists() for path in wanted.values()):
        return wanted
    with _lock:
        folder.mkdir(parents=True, exist_ok=True)
        for cut, path in wanted.items():
            if path.exists():
                continue
            handle, partial = tempfile.mkstemp(dir=folder, suffix=".part")
            with os.fdopen(handle, "wb") as out:
                out.write(_cut(cut))
            os.replace(partial, path)
    return wanted


def font_faces_css() -> str:
    """The ``@font-face`` rules of the book's two families, by ``file://`` URL of the package (or cached) files."""
    rules = [
        f"@font-face {{ font-family: '{SERIF_FAMILY}'; src: url('{path.as_uri()}'); "
        f"font-weight: {cut.weight}; font-style: {cut.style}; }}"
        for cut, path in serif_files().items()
    ]
    sans = Path(fontpkg_be_vietnam_pro.ROOT) / "files"
    rules += [
        f"@font-face {{ font-family: '{SANS_FAMILY}'; src: url('{(sans / name).as_uri()}'); "
        f"font-weight: {weight}; font-style: {style}; }}"
        for name, weight, style in SANS_FACES
    ]
    return "\n".join(rules)

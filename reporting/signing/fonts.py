"""The font of the signature appearances: Be Vietnam Pro from its Python package (full Vietnamese), never a system
font (DESIGN §8).

Embedding a subset of the whole font in every signature costs ≈ 60 ms of CPU (fontTools reads its layout tables each
time). The font is cut once per process to the characters a signature box can show — Latin with every Vietnamese
letter, digits and punctuation — so that each signature's own subset is made from a small font.
"""

from __future__ import annotations

import io
import unicodedata
from functools import cache
from pathlib import Path

import fontpkg_be_vietnam_pro
from fontTools import subset as ft_subset
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory

APPEARANCE_FONT = "BeVietnamPro-Regular.ttf"
# Printable ASCII, the Vietnamese letters (À Á Â Ã È É Ê Ì Í Ò Ó Ô Õ Ù Ú Ý and lower case, Ă ă Đ đ Ĩ ĩ Ũ ũ Ơ ơ Ư ư,
# U+1EA0–U+1EF9), dashes, quotes and a few signs: the smaller the cut font, the cheaper each signature's subset.
SIGNATURE_CHARACTERS = (
    "".join(chr(c) for c in range(0x20, 0x7F))
    + "ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúýĂăĐđĨĩŨũƠơƯư"
    + "".join(chr(c) for c in range(0x1EA0, 0x1EFA))
    + "–—‘’“”…•°·№×"
)


def appearance_font_path() -> Path:
    return fontpkg_be_vietnam_pro.ROOT / "files" / APPEARANCE_FONT


@cache
def signature_font_bytes() -> bytes:
    """Be Vietnam Pro cut to SIGNATURE_CHARACTERS (once per process)."""
    options = ft_subset.Options()
    options.layout_features = []  # composed (NFC) Vietnamese needs no shaping tables; they cost most of the time
    options.hinting = False
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6]  # copyright, family, style, unique id, full name, version, PS name
    options.notdef_outline = True
    font = ft_subset.load_font(str(appearance_font_path()), options)
    subsetter = ft_subset.Subsetter(options)
    subsetter.populate(text=SIGNATURE_CHARACTERS)
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def appearance_text(text: str) -> str:
    """Composed form (NFC): every Vietnamese letter is then one glyph of the cut font."""
    return unicodedata.normalize("NFC", text)


class SignatureFontFactory(GlyphAccumulatorFactory):
    """pyHanko's OpenType font engine, reading the cut font from memory instead of the package's file."""

    def create_font_engine(self, writer, obj_stream=None) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()
        return GlyphAccumulator(
            writer=writer,
            font_handle=io.BytesIO(signature_font_bytes()),
            font_size=self.font_size,
            ot_script_tag=self.ot_script_tag,
            ot_language_tag=self.ot_language_tag,
            writing_direction=self.writing_direction,
            bcp47_lang_code=self.bcp47_lang_code,
            obj_stream=obj_stream,
        )


@cache
def signature_font(size: int) -> SignatureFontFactory:
    return SignatureFontFactory(font_file=str(appearance_font_path()), font_size=size, bcp47_lang_code="vi")

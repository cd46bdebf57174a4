"""The printed documents of a school as PDF (WeasyPrint from Django templates, versioned by circular): the record
book of a student for a year (``render_record_book``) or across their years (``render_multi_year``), the books of a
final-grade class (``render_final_grade_batch``) and the class assessment book of a term (``render_class_book``).

A pure library: it reads the school's data and returns a ``Rendered`` (the PDF, the template version, the number of
pages and the signature boxes by step); it writes nothing and decides nobody's rights — its callers do.
"""

from .books import (
    TEMPLATES,
    RecordNotPrintable,
    SchoolHeading,
    render_final_grade_batch,
    render_multi_year,
    render_record_book,
    school_heading,
)
from .classbook import render_class_book
from .engine import Box, Rendered, prepare_fonts, warm_up

__all__ = [
    "TEMPLATES",
    "Box",
    "RecordNotPrintable",
    "Rendered",
    "SchoolHeading",
    "render_class_book",
    "render_final_grade_batch",
    "render_multi_year",
    "render_record_book",
    "prepare_fonts",
    "school_heading",
    "warm_up",
]

"""Excel workbooks of a school: templates to fill in, all-or-nothing imports, a class's export.

* :mod:`.students` — the student-list template and its import (every row validated, then one transaction);
* :mod:`.sheets` — a grade sheet's template (students, columns, current values) and its import
  (one ``sheets.sheet_save`` call);
* :mod:`.export` — a class's workbook: one sheet per subject the person may read, and a summary.
* :mod:`.qualities` — TT27 qualities and competencies of a primary class: a checkpoint's template, its import
  (one ``yearend.qualities_save`` call) and the class's export of the four checkpoints.
* :mod:`.imports` — the three imports behind one door for the pages, the API and the worker: the target found for
  the person, the file's shape checked, the import run and what became of each row;
* :mod:`.background` — in the request, or as a background job when the file has more data rows than
  ``HOCBA_IMPORT_INLINE_ROWS`` (``schools.tasks.import_file``).

Every template carries a “Hướng dẫn” sheet (``common.write_guide``): each column, its allowed values, the rules.

Every problem of an import names its row, cell and header as Excel shows them, in Vietnamese and English
(:class:`.common.Problem`: the JSON report carries both, the report page the page's language); nothing is saved
unless the whole file is valid.
The headers written in the files are fixed Vietnamese strings, not translated: the importer reads them.
"""

from hocba.kernel.spreadsheets import XLSX_CONTENT_TYPE, ImportFailed, Problem

__all__ = ["ImportFailed", "Problem", "XLSX_CONTENT_TYPE"]

"""The new release of ``migrate_addcolumn``: one school migration, the expand step of a school schema change.

``bench.addcolumn.settings`` is the developer's settings with this app among the school apps; only the
``migrate_schools`` (and stock ``migrate_schemas``) processes of that benchmark run with it — the "old pods" run
without it and never learn the column.
"""

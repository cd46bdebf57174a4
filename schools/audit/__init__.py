"""The school's audit chain (DESIGN §7). The triggers of ``sql/0002_audit.sql`` write one ``AuditEntry`` per
statement with the statement's rows as PostgreSQL row text; here it is read back:

* :mod:`.rowtext` — the row text parsed, its columns named;
* :mod:`.history` — the history page's changes: per row, who made them, edits after approval;
* :mod:`.readable` — a change as a sentence, frozen results as a small table (the history page and its export);
* :mod:`.chain` — verifying the chain, its head, comparing it with an anchor (``tenants.anchors`` takes them).
* :mod:`.triggers` — the audit triggers of a new school table, for its migration (the table's name as argument).
"""

"""The school's audit chain (DESIGN §7). The triggers of ``sql/0002_audit.sql`` write one ``AuditEntry`` per
statement with the statement's rows as PostgreSQL row text; here it is read back:

* :mod:`.rowtext` — the row text parsed, its columns named;
* :mod:`.history` — the history page's changes: per row, who made them, edits after approval;
* :mod:`.chain` — verifying the chain, its head, comparing it with an anchor (``tenants.anchors`` takes them).
"""

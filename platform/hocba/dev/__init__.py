"""Tools for developer machines and CI, never imported by production code.

``hocba.dev.services`` starts embedded PostgreSQL, Redis and S3 (the optional ``embedded`` extra);
``hocba.dev.lint`` checks the project's own rules that ruff and import-linter do not express.
"""

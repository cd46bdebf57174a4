"""A school app for ``test_migrate_interrupt`` only: one new school migration, applied by ``migrate_schools`` in a
subprocess whose settings are ``tests.tenants.migprobe.settings`` (the developer's settings plus this app).

The migration adds a nullable column with a default to ``schools_student`` (the expand step of a school schema
change), sleeps so that a run can be interrupted in the middle, and writes one row per schema it ran in into
``public.migprobe_log`` — in the school's transaction, so a rolled-back school leaves no row and a school
migrated twice leaves two. The test creates that table; nothing else uses this app.
"""

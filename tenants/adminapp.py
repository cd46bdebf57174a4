"""Installed in place of ``django.contrib.admin``: ``admin.site`` is the operators' read-only site
(:mod:`tenants.adminsite`) before any app's ``admin`` module registers a model. Kept apart from the site's module,
which imports allauth's views (they need the models loaded)."""

from django.contrib.admin.apps import AdminConfig


class OperatorAdminConfig(AdminConfig):
    default_site = "tenants.adminsite.OperatorAdminSite"

"""URL patterns of the school's history pages (included by hocba.urls_school at ``history/``)."""

from django.urls import path

from .views.history import HistoryExportView, HistoryView

urlpatterns: list = [
    path("", HistoryView.as_view(), name="school_history"),
    path("export/", HistoryExportView.as_view(), name="school_history_export"),
]

"""URL patterns of the school's excel pages (included by hocba.urls_school at ``excel/``)."""

from django.urls import path

from .views import excel

urlpatterns = [
    path(
        "classes/<int:pk>/students-template.xlsx", excel.StudentsTemplateView.as_view(), name="excel_students_template"
    ),
    path("classes/<int:pk>/students-import/", excel.StudentsImportView.as_view(), name="excel_students_import"),
    path(
        "classes/<int:pk>/sheets/<int:subject>/<int:term>.xlsx",
        excel.SheetTemplateView.as_view(),
        name="excel_sheet_template",
    ),
    path(
        "classes/<int:pk>/sheets/<int:subject>/<int:term>/import/",
        excel.SheetImportView.as_view(),
        name="excel_sheet_import",
    ),
    path(
        "classes/<int:pk>/qualities/<int:term>/<str:checkpoint>.xlsx",
        excel.QualitiesTemplateView.as_view(),
        name="excel_qualities_template",
    ),
    path(
        "classes/<int:pk>/qualities/<int:term>/<str:checkpoint>/import/",
        excel.QualitiesImportView.as_view(),
        name="excel_qualities_import",
    ),
    path("classes/<int:pk>/qualities/year.xlsx", excel.QualitiesExportView.as_view(), name="excel_qualities_export"),
    path("classes/<int:pk>/export.xlsx", excel.ClassExportView.as_view(), name="excel_class_export"),
]

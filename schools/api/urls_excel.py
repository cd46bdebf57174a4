"""API of the school's Excel imports and their templates (included under /api/v1/ by hocba.urls_school)."""

from django.urls import path

from . import excel

SHEET = "classes/<int:pk>/sheets/<int:subject>/<int:term>/import/"
QUALITIES = "classes/<int:pk>/qualities/<int:term>/<str:checkpoint>/import/"

urlpatterns = [
    path("classes/<int:pk>/students/import/", excel.StudentsImportApi.as_view(), name="api_students_import"),
    path(
        "classes/<int:pk>/students/import/template/",
        excel.StudentsTemplateApi.as_view(),
        name="api_students_import_template",
    ),
    path(SHEET, excel.SheetImportApi.as_view(), name="api_sheet_import"),
    path(f"{SHEET}template/", excel.SheetTemplateApi.as_view(), name="api_sheet_import_template"),
    path(QUALITIES, excel.QualitiesImportApi.as_view(), name="api_qualities_import"),
    path(f"{QUALITIES}template/", excel.QualitiesTemplateApi.as_view(), name="api_qualities_import_template"),
]

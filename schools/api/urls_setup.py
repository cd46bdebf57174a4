"""API of the school's setup (included under /api/v1/ by hocba.urls_school)."""

from django.urls import path

from . import setup

urlpatterns = [
    path("years/", setup.YearListApi.as_view(), name="api_setup_years"),
    path("years/<int:pk>/", setup.YearApi.as_view(), name="api_setup_year"),
    path("years/<int:pk>/classes/", setup.YearClassesApi.as_view(), name="api_setup_year_classes"),
    path("classes/<int:pk>/", setup.SetupClassApi.as_view(), name="api_setup_class"),
    path("classes/<int:pk>/assignments/", setup.AssignmentsApi.as_view(), name="api_setup_assignments"),
    path("classes/<int:pk>/assignments/<int:subject>/", setup.AssignmentApi.as_view(), name="api_setup_assignment"),
    path(
        "classes/<int:pk>/assignments/<int:subject>/parts/",
        setup.AssignmentPartsApi.as_view(),
        name="api_setup_assignment_parts",
    ),
    path("subjects/", setup.SubjectListApi.as_view(), name="api_setup_subjects"),
    path("subjects/<int:pk>/", setup.SubjectApi.as_view(), name="api_setup_subject"),
    path("departments/", setup.DepartmentListApi.as_view(), name="api_setup_departments"),
    path("departments/<int:pk>/", setup.DepartmentApi.as_view(), name="api_setup_department"),
    path("teachers/", setup.TeacherListApi.as_view(), name="api_setup_teachers"),
]

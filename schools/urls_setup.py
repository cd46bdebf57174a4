"""URL patterns of the school's setup pages (included by hocba.urls_school), names in the ``setup`` namespace."""

from django.urls import path

from .views import setup

app_name = "setup"

urlpatterns = [
    path("", setup.SetupHomeView.as_view(), name="home"),
    path("years/new/", setup.YearOpenView.as_view(), name="year_open"),
    path("years/<int:pk>/", setup.YearEditView.as_view(), name="year"),
    path("years/<int:pk>/classes/new/", setup.ClassCreateView.as_view(), name="class_create"),
    path("classes/<int:pk>/", setup.ClassSetupView.as_view(), name="class"),
    path("classes/<int:pk>/edit/", setup.ClassUpdateView.as_view(), name="class_update"),
    path("classes/<int:pk>/assignments/", setup.AssignmentsSaveView.as_view(), name="assignments_save"),
    path(
        "classes/<int:pk>/assignments/<int:subject>/clear/",
        setup.AssignmentClearView.as_view(),
        name="assignment_clear",
    ),
    path(
        "classes/<int:pk>/assignments/<int:subject>/parts/",
        setup.SubjectPartsView.as_view(),
        name="assignment_parts",
    ),
    path("subjects/", setup.SubjectListView.as_view(), name="subjects"),
    path("subjects/new/", setup.SubjectCreateView.as_view(), name="subject_create"),
    path("subjects/<int:pk>/", setup.SubjectEditView.as_view(), name="subject"),
    path("departments/", setup.DepartmentListView.as_view(), name="departments"),
    path("departments/<int:pk>/", setup.DepartmentUpdateView.as_view(), name="department_update"),
]

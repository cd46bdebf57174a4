"""URL patterns of the school's pages (included by hocba.urls_school), names in the ``pages`` namespace."""

from django.urls import path

from .views import classes, classwork, exemptions, sheets, students

app_name = "pages"

urlpatterns = [
    path("classes/", classes.ClassListView.as_view(), name="class_list"),
    path("classes/<int:pk>/", classes.ClassDetailView.as_view(), name="class_detail"),
    path("classes/<int:pk>/students/new/", classes.ClassEnrolView.as_view(), name="class_enrol"),
    path("classes/<int:pk>/submit/", classes.ClassSubmitView.as_view(), name="class_submit"),
    path("classes/<int:pk>/approve/", classes.ClassApproveView.as_view(), name="class_approve"),
    path("classes/<int:pk>/withdraw/", classes.ClassWithdrawView.as_view(), name="class_withdraw"),
    path("classes/<int:pk>/sheets/<int:subject>/<int:term>/", sheets.SheetView.as_view(), name="sheet"),
    path("classes/<int:pk>/conduct/<int:term>/", classwork.ConductView.as_view(), name="class_conduct"),
    path("classes/<int:pk>/attendance/", classwork.AttendanceView.as_view(), name="class_attendance"),
    path(
        "classes/<int:pk>/attendance/month/",
        classwork.AttendanceMonthView.as_view(),
        name="class_attendance_month",
    ),
    path("classes/<int:pk>/exemptions/", exemptions.ExemptionsView.as_view(), name="class_exemptions"),
    path(
        "classes/<int:pk>/exemptions/<int:exemption>/revoke/",
        exemptions.ExemptionRevokeView.as_view(),
        name="class_exemption_revoke",
    ),
    path("records/<int:pk>/reopen/", classes.RecordReopenView.as_view(), name="record_reopen"),
    path("students/<int:pk>/", students.StudentDetailView.as_view(), name="student_detail"),
    path("students/<int:pk>/edit/", students.StudentUpdateView.as_view(), name="student_update"),
    path("students/<int:pk>/record/", students.StudentRecordView.as_view(), name="student_record"),
    path("my-children/", students.MyChildrenView.as_view(), name="my_children"),
]

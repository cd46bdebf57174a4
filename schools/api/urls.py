from django.urls import path

from . import exemptions, views

urlpatterns = [
    path("classes/", views.ClassListApi.as_view(), name="api_classes"),
    path("classes/<int:pk>/students/", views.ClassStudentsApi.as_view(), name="api_class_students"),
    path("classes/<int:pk>/sheets/<int:subject>/<int:term>/", views.SheetApi.as_view(), name="api_sheet"),
    path("classes/<int:pk>/terms/<int:term>/sheets/", views.ClassSheetsApi.as_view(), name="api_class_sheets"),
    path("classes/<int:pk>/conduct/<int:term>/", views.ConductApi.as_view(), name="api_conduct"),
    path("classes/<int:pk>/absences/", views.AbsencesApi.as_view(), name="api_absences"),
    path("classes/<int:pk>/absences/marks/", views.AbsenceMarksApi.as_view(), name="api_absence_marks"),
    path("classes/<int:pk>/exemptions/", exemptions.ExemptionListApi.as_view(), name="api_exemptions"),
    path("classes/<int:pk>/exemptions/<int:exemption>/", exemptions.ExemptionApi.as_view(), name="api_exemption"),
    path("classes/<int:pk>/submit/", views.SubmitApi.as_view(), name="api_submit"),
    path("classes/<int:pk>/approve/", views.ApproveApi.as_view(), name="api_approve"),
    path("classes/<int:pk>/withdraw/", views.WithdrawApi.as_view(), name="api_withdraw"),
    path("records/<int:pk>/reopen/", views.ReopenApi.as_view(), name="api_reopen"),
    path("students/<int:pk>/", views.StudentApi.as_view(), name="api_student"),
    path("students/<int:pk>/record/", views.StudentRecordApi.as_view(), name="api_student_record"),
    path("my-children/", views.MyChildrenApi.as_view(), name="api_my_children"),
]

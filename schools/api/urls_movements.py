"""API of the school's movements (included under /api/v1/ by hocba.urls_school)."""

from django.urls import path

from . import movements

urlpatterns: list = [
    path("students/<int:pk>/enrolments/", movements.StudentEnrolmentsApi.as_view(), name="api_student_enrolments"),
    path("students/<int:pk>/move/", movements.StudentMoveApi.as_view(), name="api_student_move"),
    path("students/<int:pk>/transfer-out/", movements.StudentTransferOutApi.as_view(), name="api_student_transfer_out"),
    path("students/<int:pk>/guardians/", movements.StudentGuardiansApi.as_view(), name="api_student_guardians"),
    path(
        "students/<int:pk>/guardians/<int:account>/",
        movements.StudentGuardianApi.as_view(),
        name="api_student_guardian",
    ),
    path("classes/<int:pk>/carry-over/", movements.ClassCarryOverApi.as_view(), name="api_class_carry_over"),
]

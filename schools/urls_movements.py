"""URL patterns of the school's movements pages (included by hocba.urls_school), names in the ``movements``
namespace."""

from django.urls import path

from .views import movements

app_name = "movements"

urlpatterns: list = [
    path("<int:pk>/move/", movements.StudentMoveView.as_view(), name="move"),
    path("<int:pk>/transfer-out/", movements.StudentTransferOutView.as_view(), name="transfer_out"),
    path("<int:pk>/guardians/", movements.StudentGuardiansView.as_view(), name="guardians"),
    path("<int:pk>/guardians/link/", movements.GuardianLinkView.as_view(), name="guardian_link"),
    path("<int:pk>/guardians/new/", movements.GuardianCreateView.as_view(), name="guardian_create"),
    path("<int:pk>/guardians/<int:account>/unlink/", movements.GuardianUnlinkView.as_view(), name="guardian_unlink"),
    path("classes/<int:pk>/carry-over/", movements.ClassCarryOverView.as_view(), name="carry_over"),
]

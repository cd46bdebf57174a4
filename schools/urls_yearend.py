"""URL patterns of the school's yearend pages (included by hocba.urls_school), names in the ``yearend`` namespace."""

from django.urls import path

from .views import yearend

app_name = "yearend"

urlpatterns: list = [
    path("classes/<int:pk>/", yearend.YearEndView.as_view(), name="class"),
    path("classes/<int:pk>/decisions/", yearend.YearEndDecisionsView.as_view(), name="decisions"),
    path("classes/<int:pk>/qualities/<int:term>/<str:checkpoint>/", yearend.QualitiesView.as_view(), name="qualities"),
    path("classes/<int:pk>/comments/", yearend.CommentsView.as_view(), name="comments"),
    path("classes/<int:pk>/awards/", yearend.AwardsView.as_view(), name="awards"),
    path("classes/<int:pk>/awards/<int:award>/remove/", yearend.AwardRemoveView.as_view(), name="award_remove"),
]

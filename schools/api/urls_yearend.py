"""API of the school's yearend (included under /api/v1/ by hocba.urls_school)."""

from django.urls import path

from . import yearend

urlpatterns: list = [
    path(
        "classes/<int:pk>/qualities/<int:term>/<str:checkpoint>/", yearend.QualitiesApi.as_view(), name="api_qualities"
    ),
    path("classes/<int:pk>/year-end/", yearend.YearEndApi.as_view(), name="api_yearend"),
    path("classes/<int:pk>/year-end/decisions/", yearend.YearEndDecisionsApi.as_view(), name="api_yearend_decisions"),
    path("classes/<int:pk>/homeroom-comments/", yearend.HomeroomCommentsApi.as_view(), name="api_homeroom_comments"),
    path("classes/<int:pk>/awards/", yearend.AwardListApi.as_view(), name="api_awards"),
    path("classes/<int:pk>/awards/<int:award>/", yearend.AwardApi.as_view(), name="api_award"),
]

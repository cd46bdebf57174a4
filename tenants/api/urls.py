from django.urls import path

from . import duty, views

urlpatterns = [
    path("me/", views.MeApi.as_view(), name="api_me"),
    path("units/", views.UnitListApi.as_view(), name="api_units"),
    path("units/<int:pk>/", views.UnitDetailApi.as_view(), name="api_unit"),
    path("units/<int:pk>/rename/", views.UnitRenameApi.as_view(), name="api_unit_rename"),
    path("units/<int:pk>/move/", views.UnitMoveApi.as_view(), name="api_unit_move"),
    path("units/<int:pk>/merge/", views.UnitMergeApi.as_view(), name="api_unit_merge"),
    path("schools/", views.SchoolListApi.as_view(), name="api_schools"),
    path("schools/provision/", views.SchoolProvisionApi.as_view(), name="api_school_provision"),
    path("schools/<int:pk>/", views.SchoolDetailApi.as_view(), name="api_school"),
    path("schools/<int:pk>/move/", views.SchoolMoveApi.as_view(), name="api_school_move"),
    path("accounts/", views.AccountListApi.as_view(), name="api_accounts"),
    path("memberships/", views.MembershipListApi.as_view(), name="api_memberships"),
    path("monthly-duty/", duty.MonthlyDutyApi.as_view(), name="api_monthly_duty"),
    path("memberships/<int:pk>/end/", views.MembershipEndApi.as_view(), name="api_membership_end"),
]

"""The school's read grants (``grants`` namespace): the principal's page, and the holder's read-only pages."""

from django.urls import path

from .views import grants

app_name = "grants"

urlpatterns = [
    path("", grants.GrantListView.as_view(), name="list"),
    path("<int:pk>/decide/", grants.GrantDecideView.as_view(), name="decide"),
    path("<int:pk>/revoke/", grants.GrantRevokeView.as_view(), name="revoke"),
    path("<int:grant>/read/", grants.GrantReadView.as_view(), name="read"),
    path("<int:grant>/students/<int:pk>/record/", grants.GrantedRecordView.as_view(), name="record"),
]

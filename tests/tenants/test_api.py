"""API v1: scope, bad input in both languages, OpenAPI schema and offline docs."""

from __future__ import annotations

from rest_framework.test import APIClient

from tenants.models import Account, Membership, School
from tests.support import SCHOOL_A_HOST, api_token_for


def api(w, name: str, host: str = "hocba.localhost") -> APIClient:
    client = APIClient(HTTP_HOST=host)
    client.force_authenticate(w.account(name))
    return client


def test_token_authentication(w):
    key = api_token_for(w.account("province_admin"), f"unit:{w.province}", write=False)
    client = APIClient(HTTP_HOST="hocba.localhost")
    assert client.get("/api/v1/schools/").status_code in (401, 403)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    names = {s["name"] for s in client.get("/api/v1/schools/").json()}
    assert {"Trường THCS An Thạnh", "Trường THCS Bình Minh"} <= names


def test_unit_admin_lists_only_its_schools_and_units(w):
    client = api(w, "unit_a_admin")
    assert [s["id"] for s in client.get("/api/v1/schools/").json()] == [w.school_a]
    assert client.get(f"/api/v1/schools/{w.school_b}/").status_code == 404
    assert {u["id"] for u in client.get("/api/v1/units/").json()} == {w.unit_a}


def test_foreign_school_id_is_not_found_with_both_languages(w):
    response = api(w, "unit_a_admin").get(f"/api/v1/schools/{w.school_b}/")
    body = response.json()
    assert response.status_code == 404
    assert body["code"] == "schools.not_found" and body["detail"] and body["detail_en"]


def test_create_account_in_scope(w):
    client = api(w, "unit_a_admin")
    response = client.post(
        "/api/v1/accounts/",
        {
            "username": "api.gv",
            "full_name": "Giáo Viên API",
            "password": "mat-khau-api-dai",
            "role": "subject_teacher",
            "school_id": w.school_a,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert Membership.objects.get(account__username="api.gv").school_id == w.school_a


def test_create_account_outside_scope_changes_nothing(w):
    client = api(w, "unit_a_admin")
    response = client.post(
        "/api/v1/accounts/",
        {
            "username": "api.la",
            "full_name": "Lạ",
            "password": "mat-khau-api-dai",
            "role": "subject_teacher",
            "school_id": w.school_b,
        },
        format="json",
    )
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "memberships.out_of_scope"
    assert "ngoài phạm vi" in body["detail"]
    assert not Account.objects.filter(username="api.la").exists()


def test_grant_above_own_role_is_refused(w):
    client = api(w, "it_a", SCHOOL_A_HOST)
    response = client.post(
        "/api/v1/memberships/",
        {"account_id": w.accounts["teacher_a"], "role": "principal", "school_id": w.school_a},
        format="json",
    )
    assert response.status_code == 403


def test_province_admin_merges_through_the_api(w):
    client = api(w, "province_admin")
    response = client.post(
        f"/api/v1/units/{w.unit_a}/merge/", {"target_id": w.unit_b, "on": "2026-01-01"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["schools"] == 1
    history = client.get(f"/api/v1/schools/{w.school_a}/").json()
    assert [h["unit_id"] for h in history] == [w.unit_a, w.unit_b]


def test_merge_into_itself_is_a_clear_400(w):
    response = api(w, "province_admin").post(f"/api/v1/units/{w.unit_a}/merge/", {"target_id": w.unit_a}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "units.merge_into_self"


def test_bad_school_payload(w):
    client = api(w, "province_admin")
    response = client.post(
        "/api/v1/schools/",
        {
            "code": "99000001",
            "name": "Trùng",
            "levels": ["lower_secondary"],
            "unit_id": w.unit_a,
            "slug": "thcs-trung-api",
        },
        format="json",
    )
    assert response.status_code == 400 and response.json()["code"] == "schools.code_taken"
    response = client.post(
        "/api/v1/schools/",
        {"code": "99000077", "name": "Sai", "levels": ["university"], "unit_id": w.unit_a, "slug": "thcs-sai"},
        format="json",
    )
    assert response.status_code == 400
    assert not School.objects.filter(slug__in=["thcs-trung-api", "thcs-sai"]).exists()


def test_openapi_schema_and_offline_docs(w):
    client = APIClient(HTTP_HOST="hocba.localhost")
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in (
        "/api/v1/units/",
        "/api/v1/schools/",
        "/api/v1/accounts/",
        "/api/v1/memberships/",
        "/api/v1/units/{id}/merge/",
    ):
        assert path in schema["paths"], path
    docs = client.get("/api/v1/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower() and "//unpkg" not in docs


def test_me(w):
    rows = api(w, "teacher_a", SCHOOL_A_HOST).get("/api/v1/me/").json()
    assert [(r["role"], r["school_id"]) for r in rows] == [("subject_teacher", w.school_a)]


def test_list_queries_are_constant(w, queries):
    client = api(w, "province_admin")
    client.get("/api/v1/schools/")
    with queries() as few:
        client.get("/api/v1/memberships/")
    from tenants.services.accounts import account_create

    for i in range(15):
        account_create(
            actor=None,
            username=f"bulk{i}",
            full_name=f"Bulk {i}",
            role="subject_teacher",
            school=School.objects.get(pk=w.school_a),
        )
    with queries() as many:
        client.get("/api/v1/memberships/")
    assert len(many) == len(few)

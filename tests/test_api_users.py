"""Accounts over the API, by the users' pages' own forms and rules."""

import pytest
from rest_framework.authtoken.models import Token

from nodes.forms import NewUserForm


@pytest.fixture
def admin_api(api, admin):
    api.force_authenticate(admin)
    return api


def test_a_new_account_gets_a_generated_password_answered_once(admin_api, django_user_model):
    answer = admin_api.post("/api/v1/users/", {"username": "dave"}, format="json")
    assert answer.status_code == 201 and answer["Cache-Control"] == "no-store"
    password = answer.json()["password"]
    assert len(password) == 16 and answer.json()["is_staff"] is False
    assert django_user_model.objects.get(username="dave").check_password(password)
    assert "password" not in admin_api.get("/api/v1/users/dave/").json()


def test_a_given_password_is_checked_as_the_form_checks_it(admin_api, db):
    answer = admin_api.post(
        "/api/v1/users/", {"username": "dave", "password": "123"}, format="json"
    )
    form = NewUserForm(data={"username": "dave", "password": "123"})
    assert answer.status_code == 400 and answer.json()["password"] == form.errors["password"]
    answer = admin_api.post(
        "/api/v1/users/", {"username": "erin", "password": "a long passphrase 42"}, format="json"
    )
    assert answer.status_code == 201 and "password" not in answer.json()


def test_the_forms_username_rules_hold(admin_api, member_a):
    for taken in ["new", member_a.username]:
        answer = admin_api.post("/api/v1/users/", {"username": taken}, format="json")
        assert (
            answer.status_code == 400
            and answer.json()["username"]
            == (NewUserForm(data={"username": taken}).errors["username"])
        )


def test_an_admin_cannot_drop_their_own_role_or_account(admin_api, admin):
    answer = admin_api.patch(f"/api/v1/users/{admin.username}/", {"is_staff": False}, format="json")
    assert answer.json() == {"is_staff": ["You cannot take away your own admin role."]}
    answer = admin_api.patch(
        f"/api/v1/users/{admin.username}/", {"is_active": False}, format="json"
    )
    assert answer.json() == {"is_active": ["You cannot deactivate your own account."]}
    assert admin_api.delete(f"/api/v1/users/{admin.username}/").status_code == 403


def test_deactivating_ends_the_accounts_api_access(admin_api, api, member_a):
    token = Token.objects.create(user=member_a)
    answer = admin_api.patch(
        f"/api/v1/users/{member_a.username}/", {"is_active": False}, format="json"
    )
    assert answer.status_code == 200 and answer.json()["is_active"] is False
    api.force_authenticate(None)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/v1/quota/").status_code == 401


def test_patch_keeps_what_it_does_not_name(admin_api, member_a):
    member_a.email = "a@example.org"
    member_a.save()
    answer = admin_api.patch(
        f"/api/v1/users/{member_a.username}/",
        {"first_name": "Ann", "is_staff": True},
        format="json",
    )
    assert answer.json()["email"] == "a@example.org" and answer.json()["is_staff"]
    member_a.refresh_from_db()
    assert member_a.is_superuser  # admins are superusers, as the page makes them


def test_a_wrong_is_active_is_a_field_error(admin_api, member_a):
    answer = admin_api.patch(
        f"/api/v1/users/{member_a.username}/", {"is_active": "maybe"}, format="json"
    )
    assert answer.status_code == 400 and "is_active" in answer.json()


def test_members_get_a_403(api, member_a):
    api.force_authenticate(member_a)
    assert api.get("/api/v1/users/").status_code == 403
    assert api.post("/api/v1/users/", {"username": "x"}, format="json").status_code == 403


def test_an_account_that_owns_nothing_is_deleted(admin_api, member_b):
    assert admin_api.delete(f"/api/v1/users/{member_b.username}/").status_code == 204

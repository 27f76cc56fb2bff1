import re
from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from podcasts.models import Profile
from podcasts.subscribers import profile_get_or_create
from tests.factories import csrf_client, csrf_post, make_user

pytestmark = pytest.mark.django_db


def test_sign_up_creates_a_free_profile_and_logs_in():
    client = csrf_client()

    response = csrf_post(
        client,
        "/accounts/signup/",
        {"username": "newbie", "email": "newbie@example.com", "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"},
    )

    assert response.status_code == HTTPStatus.SEE_OTHER
    user = get_user_model().objects.get(username="newbie")
    assert user.profile.plan == Profile.Plan.FREE
    assert client.get("/").context["user"] == user


def test_sign_up_refuses_a_taken_email():
    make_user("first", email="same@example.com")
    client = csrf_client()

    response = csrf_post(
        client,
        "/accounts/signup/",
        {"username": "second", "email": "SAME@example.com", "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"},
    )

    assert response.status_code == HTTPStatus.OK
    assert "already exists" in response.content.decode()
    assert not get_user_model().objects.filter(username="second").exists()


def test_sign_up_without_csrf_token_is_refused():
    client = Client(enforce_csrf_checks=True)

    response = client.post("/accounts/signup/", {"username": "x", "email": "x@example.com"})

    assert response.status_code == HTTPStatus.FORBIDDEN


def test_log_in_and_log_out():
    make_user("reader1")
    client = csrf_client()

    login = csrf_post(client, "/accounts/login/", {"username": "reader1", "password": "pw-castnotes-123"})
    assert login.status_code == HTTPStatus.FOUND
    assert client.get("/").context["user"].is_authenticated

    logout = csrf_post(client, "/accounts/logout/")
    assert logout.status_code == HTTPStatus.FOUND
    assert not client.get("/").context["user"].is_authenticated


def test_password_reset_by_email_sets_a_new_password(mailoutbox):
    user = make_user("forgetful", email="forgetful@example.com")
    client = csrf_client()

    response = csrf_post(client, "/accounts/password_reset/", {"email": "forgetful@example.com"})
    assert response.status_code == HTTPStatus.FOUND
    assert len(mailoutbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", mailoutbox[0].body).group(1)

    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"]
    confirm_url = form_page.redirect_chain[-1][0]
    client.get(confirm_url)
    done = csrf_post(client, confirm_url, {"new_password1": "brand-new-secret-42", "new_password2": "brand-new-secret-42"})

    assert done.status_code == HTTPStatus.FOUND
    user.refresh_from_db()
    assert user.check_password("brand-new-secret-42")


def test_password_reset_for_unknown_email_sends_nothing(mailoutbox):
    client = csrf_client()

    response = csrf_post(client, "/accounts/password_reset/", {"email": "nobody@example.com"})

    assert response.status_code == HTTPStatus.FOUND
    assert mailoutbox == []


def test_profile_get_or_create_gives_users_without_one_a_free_profile():
    user = get_user_model().objects.create_user(username="legacy", password="x")

    profile = profile_get_or_create(user=user)
    again = profile_get_or_create(user=get_user_model().objects.get(pk=user.pk))

    assert profile.plan == Profile.Plan.FREE
    assert again.pk == profile.pk
    assert Profile.objects.filter(user=user).count() == 1


def test_staff_set_the_plan_in_the_admin():
    admin = get_user_model().objects.create_superuser(username="boss", email="boss@example.com", password="x")
    member = make_user("member")
    client = csrf_client(admin)

    page = client.get(f"/admin/podcasts/profile/{member.profile.pk}/change/")

    assert page.status_code == HTTPStatus.OK
    assert 'name="plan"' in page.content.decode()

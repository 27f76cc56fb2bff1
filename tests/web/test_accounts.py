import re
from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from podcasts.models import Profile
from podcasts.subscribers import profile_get_or_create
from tests.factories import csrf_client, csrf_post, make_user

pytestmark = pytest.mark.django_db


SIGN_UP = {"password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"}


def _activation_link(message) -> str:
    return re.search(r"http://\S+/accounts/activate/\S+/", message.body).group(0).split("8000", 1)[1]


def test_sign_up_creates_an_inactive_free_account_and_its_emailed_link_logs_in(mailoutbox):
    client = csrf_client()

    response = csrf_post(client, "/accounts/signup/", {"username": "newbie", "email": "newbie@example.com", **SIGN_UP})

    assert response.status_code == HTTPStatus.SEE_OTHER and response["Location"] == "/accounts/signup/done/"
    user = get_user_model().objects.get(username="newbie")
    assert user.profile.plan == Profile.Plan.FREE and not user.is_active
    assert not client.get("/").context["user"].is_authenticated
    (message,) = mailoutbox
    assert message.to == ["newbie@example.com"]

    activated = client.get(_activation_link(message))

    assert activated.status_code == HTTPStatus.SEE_OTHER
    assert client.get("/").context["user"] == user
    assert Client().get(_activation_link(message)).status_code == HTTPStatus.BAD_REQUEST  # used once: last_login changed


def test_sign_up_with_a_taken_email_answers_the_same_and_tells_the_owner_by_email(mailoutbox):
    """Issue 17: the form once said "An account with this email already exists" to anyone."""
    make_user("first", email="same@example.com")

    taken = csrf_post(csrf_client(), "/accounts/signup/", {"username": "second", "email": "SAME@example.com", **SIGN_UP})
    fresh = csrf_post(csrf_client(), "/accounts/signup/", {"username": "third", "email": "third@example.com", **SIGN_UP})

    assert (taken.status_code, taken["Location"]) == (fresh.status_code, fresh["Location"])
    assert csrf_client().get(taken["Location"]).content == csrf_client().get(fresh["Location"]).content
    assert not get_user_model().objects.filter(username="second").exists()
    notice, activation = mailoutbox
    assert notice.to == ["same@example.com"] and "already has an account" in notice.body
    assert "/accounts/activate/" not in notice.body and "/accounts/activate/" in activation.body


@pytest.mark.parametrize("name", ["admіn", "Аdmin", "раураl"])
def test_mixed_script_look_alike_usernames_are_refused(name):
    make_user("admin")
    make_user("paypal")

    response = csrf_post(csrf_client(), "/accounts/signup/", {"username": name, "email": "x@example.com", **SIGN_UP})

    assert response.status_code == HTTPStatus.OK
    assert "look-alike" in response.content.decode() or "looks like" in response.content.decode()
    assert not get_user_model().objects.filter(username=name).exists()


def test_a_single_script_look_alike_of_an_existing_name_is_refused():
    make_user("eve")

    response = csrf_post(csrf_client(), "/accounts/signup/", {"username": "еve", "email": "x@example.com", **SIGN_UP})

    assert "look" in response.content.decode()
    assert get_user_model().objects.filter(username="еve").count() == 0


@pytest.mark.parametrize("name", ["josé", "Zoë", "用户", "иван"])
def test_names_in_one_script_without_a_taken_look_alike_are_welcome(name, mailoutbox):
    response = csrf_post(csrf_client(), "/accounts/signup/", {"username": name, "email": f"{len(name)}@example.com", **SIGN_UP})

    assert response.status_code == HTTPStatus.SEE_OTHER
    assert get_user_model().objects.filter(username=name).exists()


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

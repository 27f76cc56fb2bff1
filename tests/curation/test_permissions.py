from http import HTTPStatus
from importlib import import_module

import django_rq.urls
import pytest
from django.contrib.auth.models import Group

from curation.models import CurationItem, CuratorAction
from curation.services import CURATOR_PERMISSIONS, curators_group_ensure, editorial_transition, enqueue_for_review
from podcasts.models import Transcript
from podcasts.services import demo_users_ensure
from summaries.models import Summary

OK, FORBIDDEN = HTTPStatus.OK, HTTPStatus.FORBIDDEN


@pytest.fixture
def users(curator, plain_staff, superuser):
    return {"curator": curator, "staff": plain_staff, "superuser": superuser}


@pytest.fixture
def objects(summary, curator):
    Summary.objects.filter(pk=summary.pk).update(editorial_status="published")
    item = enqueue_for_review(target=summary, flag_class="unverified_quote", severity="P1", proposed_action="hide_summary")
    editorial_transition(summary, "featured", actor=curator, reason="setup")
    transcript = Transcript.objects.create(episode=summary.episode, source="whisper", text="hello", segments=[])
    return {
        "item": item,
        "summary": summary,
        "action": CuratorAction.objects.get(),
        "episode": summary.episode,
        "podcast": summary.episode.podcast,
        "transcript": transcript,
        "user": curator,
    }


def test_curators_group_has_exactly_the_permissions_curators_need(db):
    group = Group.objects.get(name="Curators")

    perms = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}

    assert perms == {
        "curation.view_curationitem",
        "curation.change_curationitem",
        "curation.view_curatoraction",
        "summaries.view_summary",
        "summaries.change_summary",
        "podcasts.view_podcast",
        "podcasts.view_episode",
        "podcasts.view_transcript",
        "podcasts.steer_pipeline",
        "podcasts.view_adspan",
        "podcasts.add_adspan",
        "podcasts.change_adspan",
    }


def test_curators_group_ensure_matches_the_migration(db):
    migration = import_module("curation.migrations.0004_curators_group")
    added = import_module("curation.migrations.0009_curators_steer_pipeline")
    ad_spans = import_module("curation.migrations.0010_curators_correct_ad_spans")
    group = Group.objects.get(name="Curators")
    group.permissions.clear()

    again = curators_group_ensure()

    assert again.pk == group.pk
    assert list(CURATOR_PERMISSIONS) == migration.CURATOR_PERMISSIONS + added.ADDED_PERMISSIONS + ad_spans.ADDED_PERMISSIONS
    assert again.permissions.count() == len(CURATOR_PERMISSIONS)


def test_demo_curator_is_in_the_curators_group(db):
    demo_users_ensure()
    demo_users_ensure()  # twice: the second run changes nothing

    from django.contrib.auth.models import User

    curator = User.objects.get(username="curator")
    assert list(curator.groups.values_list("name", flat=True)) == ["Curators"]
    assert curator.has_perm("curation.change_curationitem")
    assert not curator.has_perm("curation.delete_curationitem")


# (url template, curator, plain staff, superuser)
PAGES = [
    ("/admin/curation/curationitem/", OK, FORBIDDEN, OK),
    ("/admin/curation/curationitem/?status=all&severity__exact=P1", OK, FORBIDDEN, OK),
    ("/admin/curation/curationitem/{item}/change/", OK, FORBIDDEN, OK),
    ("/admin/curation/curationitem/{item}/history/", OK, FORBIDDEN, OK),
    ("/admin/curation/curationitem/add/", FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("/admin/curation/curationitem/{item}/delete/", FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("/admin/curation/curatoraction/", OK, FORBIDDEN, OK),
    ("/admin/curation/curatoraction/{action}/change/", OK, FORBIDDEN, OK),
    ("/admin/curation/curatoraction/{action}/history/", OK, FORBIDDEN, OK),
    ("/admin/curation/curatoraction/add/", FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("/admin/curation/curatoraction/{action}/delete/", FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("/admin/summaries/summary/", OK, FORBIDDEN, OK),
    ("/admin/summaries/summary/{summary}/change/", OK, FORBIDDEN, OK),
    ("/admin/summaries/summary/{summary}/history/", OK, FORBIDDEN, OK),
    ("/admin/summaries/summary/add/", FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("/admin/summaries/summary/{summary}/delete/", FORBIDDEN, FORBIDDEN, FORBIDDEN),
    # Followed from inbox links: view only for curators.
    ("/admin/podcasts/podcast/", OK, FORBIDDEN, OK),
    ("/admin/podcasts/podcast/{podcast}/change/", OK, FORBIDDEN, OK),
    ("/admin/podcasts/podcast/{podcast}/delete/", FORBIDDEN, FORBIDDEN, OK),
    ("/admin/podcasts/episode/{episode}/change/", OK, FORBIDDEN, OK),
    ("/admin/podcasts/episode/{episode}/history/", OK, FORBIDDEN, OK),
    ("/admin/podcasts/episode/{episode}/delete/", FORBIDDEN, FORBIDDEN, OK),
    ("/admin/podcasts/transcript/{transcript}/change/", OK, FORBIDDEN, OK),
    # Outside curation altogether.
    ("/admin/summaries/delivery/", FORBIDDEN, FORBIDDEN, OK),
    ("/admin/auth/user/", FORBIDDEN, FORBIDDEN, OK),
    ("/admin/auth/user/{user}/change/", FORBIDDEN, FORBIDDEN, OK),
    ("/admin/auth/group/", FORBIDDEN, FORBIDDEN, OK),
]


@pytest.mark.parametrize(("url", "as_curator", "as_staff", "as_superuser"), PAGES)
def test_admin_pages_by_role(client_for, users, objects, url, as_curator, as_staff, as_superuser):
    url = url.format(**{name: obj.pk for name, obj in objects.items()})

    statuses = {role: client_for(user).get(url).status_code for role, user in users.items()}

    assert statuses == {"curator": as_curator, "staff": as_staff, "superuser": as_superuser}


def test_anonymous_is_sent_to_the_admin_login(client_for, objects):
    response = client_for(None).get("/admin/curation/curationitem/")

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/admin/login/")


ITEM_ACTIONS = ["assign_to_me", "start_review", "resolve", "resolve_without_acting", "dismiss", "escalate"]


@pytest.mark.parametrize("action", ITEM_ACTIONS)
@pytest.mark.parametrize("role", ["curator", "superuser"])
def test_curators_and_superusers_run_every_inbox_action(client_for, users, objects, role, action):
    item = objects["item"]

    response = client_for(users[role]).post(
        "/admin/curation/curationitem/", {"action": action, "_selected_action": [item.pk], "reason": "checked"}
    )

    assert response.status_code == HTTPStatus.FOUND
    assert CuratorAction.objects.filter(curation_item=item, actor=users[role]).count() == 1


@pytest.mark.parametrize("action", ITEM_ACTIONS)
def test_plain_staff_get_403_on_every_inbox_action(client_for, plain_staff, objects, action):
    item = objects["item"]

    response = client_for(plain_staff).post("/admin/curation/curationitem/", {"action": action, "_selected_action": [item.pk]})

    assert response.status_code == FORBIDDEN
    assert CurationItem.objects.get(pk=item.pk).status == "pending"
    assert not CuratorAction.objects.filter(curation_item=item).exists()


DECISIONS = ["assign", "start_review", "resolve", "resolve_only", "dismiss", "escalate", "reopen"]


@pytest.mark.parametrize("decision", DECISIONS)
def test_decision_buttons_by_role(client_for, users, objects, decision):
    item = objects["item"]
    url = f"/admin/curation/curationitem/{item.pk}/change/"
    data = {"_decision": decision, "decision_reason": "why"}

    assert client_for(users["staff"]).post(url, data).status_code == FORBIDDEN
    assert CurationItem.objects.get(pk=item.pk).status == "pending"
    response = client_for(users["curator"]).post(url, data)
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == url


@pytest.mark.parametrize("action", ["make_published", "make_featured", "make_hidden", "make_retired"])
def test_summary_actions_by_role(client_for, users, objects, action):
    summary = objects["summary"]
    to = action.removeprefix("make_")
    data = {"action": action, "_selected_action": [summary.pk], "reason": "editorial"}

    assert client_for(users["staff"]).post("/admin/summaries/summary/", data).status_code == FORBIDDEN
    assert Summary.objects.get(pk=summary.pk).editorial_status == "featured"
    assert client_for(users["curator"]).post("/admin/summaries/summary/", data).status_code == HTTPStatus.FOUND
    expected = "featured" if to == "published" else to  # featured → published is not a move
    assert Summary.objects.get(pk=summary.pk).editorial_status == expected


def test_summary_editorial_button_by_role(client_for, users, objects):
    summary = objects["summary"]
    url = f"/admin/summaries/summary/{summary.pk}/change/"

    assert client_for(users["staff"]).post(url, {"_editorial": "hidden"}).status_code == FORBIDDEN
    assert client_for(users["curator"]).post(url, {"_editorial": "hidden"}).status_code == HTTPStatus.FOUND
    assert Summary.objects.get(pk=summary.pk).editorial_status == "hidden"


def _rq_urls() -> list[str]:
    """Every django-rq URL, filled with sample arguments."""
    samples = {
        "queue_index": "0",
        "job_id": "job",
        "result_id": "res",
        "key": "worker",
        "scheduler_index": "0",
        "connection_index": "0",
        "scheduler_name": "sched",
        "cron_job_name": "cron",
        "token": "tok",
    }
    urls = []
    for pattern in django_rq.urls.urlpatterns:
        route = str(pattern.pattern)
        if route.startswith("^"):  # regex routes: stats.json and metrics
            route = route.strip("^$").replace("/?", "/").replace("(?P<token>[\\w]+)?", "tok")
        for name, value in samples.items():
            for converter in ("int", "str", "path"):
                route = route.replace(f"<{converter}:{name}>", value)
        urls.append("/admin/rq/" + route)
    return sorted(set(urls))


RQ_URLS = _rq_urls()


def test_every_rq_url_is_covered():
    assert len(RQ_URLS) >= 20
    assert all("<" not in url and "(" not in url for url in RQ_URLS)


@pytest.mark.parametrize("url", RQ_URLS)
def test_rq_dashboard_refuses_curators_and_plain_staff(client_for, curator, plain_staff, url):
    for user in (curator, plain_staff):
        client = client_for(user)
        assert client.get(url).status_code == FORBIDDEN
        assert client.post(url, {}).status_code == FORBIDDEN


def test_rq_dashboard_sends_anonymous_to_login(client_for, db):
    response = client_for(None).get("/admin/rq/")

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/admin/login/")


def test_rq_dashboard_opens_for_a_superuser(client_for, superuser, redis_url, settings):
    settings.RQ_QUEUES = {name: {**conf, "URL": redis_url} for name, conf in settings.RQ_QUEUES.items()}
    client = client_for(superuser)

    assert client.get("/admin/rq/").status_code == OK
    assert client.get("/admin/rq/queues/0/").status_code == OK

import pytest
from django.db import IntegrityError, connection, transaction

from curation.models import AppendOnlyError, CuratorAction
from curation.services import editorial_transition


@pytest.fixture
def logged(summary, curator) -> CuratorAction:
    editorial_transition(summary, "published", actor=curator, reason="first")
    return CuratorAction.objects.get()


def test_model_refuses_to_update_a_row(logged):
    logged.reason = "rewritten"

    with pytest.raises(AppendOnlyError, match="append-only"):
        logged.save()


def test_model_refuses_to_delete_a_row(logged):
    with pytest.raises(AppendOnlyError, match="append-only"):
        logged.delete()

    assert CuratorAction.objects.filter(pk=logged.pk).exists()


def test_queryset_refuses_bulk_update_and_delete(logged):
    with pytest.raises(AppendOnlyError):
        CuratorAction.objects.filter(pk=logged.pk).update(reason="rewritten")
    with pytest.raises(AppendOnlyError):
        CuratorAction.objects.all().delete()

    assert CuratorAction.objects.get().reason == "first"


def test_deleting_the_acting_user_keeps_the_row_and_its_label(logged, curator):
    curator.delete()

    row = CuratorAction.objects.get(pk=logged.pk)
    assert row.actor is None
    assert row.actor_label == "curator"
    assert row.reason == "first"


def test_database_rejects_update_of_a_row(logged):
    """PostgreSQL since 0003; SQLite since 0005 (issue 17)."""
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE curation_curatoraction SET reason = 'rewritten' WHERE id = %s", [logged.pk])

    assert CuratorAction.objects.get().reason == "first"


def test_database_rejects_delete_of_a_row(logged):
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM curation_curatoraction WHERE id = %s", [logged.pk])

    assert CuratorAction.objects.filter(pk=logged.pk).exists()


def test_database_rejects_clearing_the_actor_together_with_another_column(logged):
    """Only the ON DELETE SET NULL of a deleted user may touch a row, and only actor_id."""
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE curation_curatoraction SET actor_id = NULL, actor_label = 'someone' WHERE id = %s", [logged.pk]
            )

    assert CuratorAction.objects.get().actor_label == "curator"


def test_database_rejects_the_base_manager_too(logged):
    """The plain base manager skips the model's refusals; the trigger still holds."""
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        CuratorAction._base_manager.filter(pk=logged.pk).update(reason="rewritten")

    assert CuratorAction.objects.get().reason == "first"


def test_log_is_view_only_in_the_admin_even_for_a_superuser(client, logged, superuser):
    from http import HTTPStatus

    client.force_login(superuser)
    base = "/admin/curation/curatoraction/"

    assert client.get(base).status_code == HTTPStatus.OK
    assert client.get(f"{base}{logged.pk}/change/").status_code == HTTPStatus.OK
    assert client.get(f"{base}add/").status_code == HTTPStatus.FORBIDDEN
    assert client.get(f"{base}{logged.pk}/delete/").status_code == HTTPStatus.FORBIDDEN
    assert client.post(f"{base}{logged.pk}/delete/", {"post": "yes"}).status_code == HTTPStatus.FORBIDDEN
    response = client.post(f"{base}{logged.pk}/change/", {"reason": "rewritten"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    client.post(base, {"action": "delete_selected", "_selected_action": [logged.pk], "post": "yes"})
    assert CuratorAction.objects.get().reason == "first"


@pytest.mark.django_db(transaction=True)
def test_flush_still_empties_the_log_on_both_databases(summary, curator):
    """Test databases are flushed between transactional tests; so may an operator flush."""
    from django.core.management import call_command

    editorial_transition(summary, "published", actor=curator, reason="first")

    call_command("flush", "--noinput", verbosity=0)

    assert not CuratorAction.objects.exists()

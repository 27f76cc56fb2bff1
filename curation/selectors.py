"""Reads for the curation inbox and the editorial log."""

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.urls import NoReverseMatch, reverse

from curation.models import OPEN_STATUSES, CurationItem, CuratorAction


def open_item_kinds() -> list[tuple[int, str]]:
    """(content type id, readable name) of every kind of object that has open items."""
    ids = (
        CurationItem.objects.filter(status__in=OPEN_STATUSES)
        .order_by()
        .values_list("content_type_id", flat=True)
        .distinct()
    )
    kinds = [(ct_id, ContentType.objects.get_for_id(ct_id)) for ct_id in ids]
    return sorted(
        ((ct_id, _kind_name(ct)) for ct_id, ct in kinds),
        key=lambda kind: kind[1],
    )


def _kind_name(content_type: ContentType) -> str:
    model = content_type.model_class()
    if model is None:
        return f"{content_type.app_label}.{content_type.model}"
    return str(model._meta.verbose_name).capitalize()


def admin_change_url(*, content_type_id: int, object_id: str) -> str | None:
    """The admin change page of the flagged object, or None when its model has none."""
    content_type = ContentType.objects.get_for_id(content_type_id)
    try:
        return reverse(f"admin:{content_type.app_label}_{content_type.model}_change", args=[object_id])
    except NoReverseMatch:
        return None


def curator_actions_for(obj: models.Model) -> models.QuerySet[CuratorAction]:
    """The editorial log of one object, newest first."""
    return CuratorAction.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk)
    ).select_related("curation_item")

"""Reads for the curation inbox and the editorial log."""

import functools

from django.conf import settings
from django.contrib.admin.utils import quote
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Exists, OuterRef
from django.urls import NoReverseMatch, get_urlconf, reverse

from curation.models import OPEN_STATUSES, CurationItem, CuratorAction


def open_item_kinds() -> list[tuple[int, str]]:
    """(content type id, readable name) of every kind of object that has open items.

    One EXISTS probe per content type on the open-items index, rather than a
    DISTINCT over every open item: the cost follows the number of models, not items.
    """
    open_items = CurationItem.objects.filter(status__in=OPEN_STATUSES, content_type=OuterRef("pk"))
    content_types = ContentType.objects.filter(Exists(open_items))
    return sorted(((ct.pk, _kind_name(ct)) for ct in content_types), key=lambda kind: kind[1])


def _kind_name(content_type: ContentType) -> str:
    model = content_type.model_class()
    if model is None:
        return f"{content_type.app_label}.{content_type.model}"
    return str(model._meta.verbose_name).capitalize()


_PLACEHOLDER = "0castnotes0"


@functools.lru_cache(maxsize=256)
def _change_url_template(urlconf: str | None, content_type_id: int) -> str | None:
    content_type = ContentType.objects.get_for_id(content_type_id)
    try:
        return reverse(f"admin:{content_type.app_label}_{content_type.model}_change", urlconf, args=[_PLACEHOLDER])
    except NoReverseMatch:
        return None


def admin_change_url(*, content_type_id: int, object_id: str) -> str | None:
    """The admin change page of the flagged object, or None when its model has none.

    One reverse() per content type (cached), not one per inbox row.
    """
    template = _change_url_template(get_urlconf() or settings.ROOT_URLCONF, content_type_id)
    if template is None:
        return None
    return template.replace(_PLACEHOLDER, quote(str(object_id)))


def curator_actions_for(obj: models.Model) -> models.QuerySet[CuratorAction]:
    """The editorial log of one object, newest first."""
    return CuratorAction.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk))

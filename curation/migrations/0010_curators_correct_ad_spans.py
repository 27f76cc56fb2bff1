"""Curators correct sponsor spans in the admin (mark "not an ad", add a span; each a
CuratorAction): the ad span permissions join the group's list."""

from django.db import migrations

GROUP_NAME = "Curators"
ADDED_PERMISSIONS = [("podcasts", "view_adspan"), ("podcasts", "add_adspan"), ("podcasts", "change_adspan")]


def add_permissions(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrate (post_migrate); make them now.
    app_config = apps.get_app_config("podcasts")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP_NAME)
    for app_label, codename in ADDED_PERMISSIONS:
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_permissions(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=GROUP_NAME).first()
    if group is None:
        return
    for app_label, codename in ADDED_PERMISSIONS:
        group.permissions.remove(*Permission.objects.filter(content_type__app_label=app_label, codename=codename))


class Migration(migrations.Migration):
    dependencies = [
        ("podcasts", "0008_podcast_artwork"),
        ("curation", "0009_curators_steer_pipeline"),
    ]

    operations = [migrations.RunPython(add_permissions, remove_permissions)]

"""Create the Curators group with exactly the permissions curators need.

Curators work the inbox (view + change CurationItem), read the log (view
CuratorAction), move summaries through the editorial states (view + change
Summary; every field but the state is read-only and the state changes only
through editorial_transition), and follow inbox links to podcasts, episodes and
transcripts (view only). Approving a feed or retrying a job happens by resolving
its inbox item, so no change permission on podcasts or episodes is needed.
"""

from django.db import migrations

GROUP_NAME = "Curators"
CURATOR_PERMISSIONS = [
    ("curation", "view_curationitem"),
    ("curation", "change_curationitem"),
    ("curation", "view_curatoraction"),
    ("summaries", "view_summary"),
    ("summaries", "change_summary"),
    ("podcasts", "view_podcast"),
    ("podcasts", "view_episode"),
    ("podcasts", "view_transcript"),
]


def create_group(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrate (post_migrate); make them now.
    for label in {app_label for app_label, _ in CURATOR_PERMISSIONS}:
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP_NAME)
    permissions = [
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
        for app_label, codename in CURATOR_PERMISSIONS
    ]
    group.permissions.set(permissions)


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("podcasts", "0001_initial"),
        ("summaries", "0001_initial"),
        ("curation", "0003_curatoraction_append_only_trigger"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]

"""Every write to podcasts, episodes, transcripts, subscriptions and profiles."""

from django.contrib.auth import get_user_model
from django.db import transaction

from curation.services import curators_group_ensure
from podcasts.models import Profile

DEMO_PASSWORD = "castnotes"


@transaction.atomic
def demo_users_ensure() -> list[str]:
    """Create (or reset) the demo accounts: premium, reader, curator, admin."""
    User = get_user_model()
    specs = [
        ("premium", Profile.Plan.PREMIUM, False, False),
        ("reader", Profile.Plan.FREE, False, False),
        ("curator", Profile.Plan.FREE, True, False),
        ("admin", Profile.Plan.PREMIUM, True, True),
    ]
    for username, plan, is_staff, is_superuser in specs:
        user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
        user.is_staff = is_staff
        user.is_superuser = is_superuser
        user.set_password(DEMO_PASSWORD)
        user.save()
        Profile.objects.update_or_create(user=user, defaults={"plan": plan})
        if username == "curator":
            user.groups.add(curators_group_ensure())
    return [spec[0] for spec in specs]

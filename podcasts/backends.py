"""The authentication backend: Django's ModelBackend, with a cheaper per-request lookup."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import connection

from podcasts.models import Profile


class AccountBackend(ModelBackend):
    """Every signed-in request loads its user; this loads it with one SQL query that also
    brings the user's Profile (the episode page and Regenerate read the plan). Building
    the ORM query for that lookup took longer than running it. Passwords, permissions
    and inactive users are handled exactly as by ModelBackend."""

    def get_user(self, user_id):
        User = get_user_model()
        quote = connection.ops.quote_name
        sql = (
            f"SELECT u.*, p.id AS profile_pk, p.plan AS profile_plan FROM {quote(User._meta.db_table)} u "
            f"LEFT JOIN {quote(Profile._meta.db_table)} p ON p.user_id = u.{quote(User._meta.pk.column)} "
            f"WHERE u.{quote(User._meta.pk.column)} = %s"
        )
        try:
            user_id = User._meta.pk.to_python(user_id)
        except Exception:  # a malformed session value is no user, as in ModelBackend
            return None
        user = next(iter(User.objects.raw(sql, [user_id])), None)
        if user is None or not self.user_can_authenticate(user):
            return None
        if user.profile_pk is not None:
            # created_at stays deferred: loaded only if something reads it.
            profile = Profile.from_db(connection.alias, ["id", "user_id", "plan"], [user.profile_pk, user.pk, user.profile_plan])
            Profile._meta.get_field("user").set_cached_value(profile, user)
            User._meta.get_field("profile").set_cached_value(user, profile)
        return user

from rest_framework.permissions import SAFE_METHODS, BasePermission


class ReadOnlyTokenIsReadOnly(BasePermission):
    """A token made with --read-only (or the checkbox) may only read: 403 on every write."""

    message = "This API token is read-only."

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return not getattr(request.auth, "read_only", False)

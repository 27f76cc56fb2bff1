from django.contrib import admin

from curation.models import CurationItem, CuratorAction


@admin.register(CurationItem)
class CurationItemAdmin(admin.ModelAdmin):
    list_display = ["__str__", "flag_class", "severity", "status", "occurrences", "created_at"]
    list_filter = ["status", "severity", "flag_class"]
    search_fields = ["object_repr"]


@admin.register(CuratorAction)
class CuratorActionAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor_label", "action", "from_state", "to_state", "target_repr"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

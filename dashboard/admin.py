from django.contrib import admin

from dashboard.models import Incident


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["opened_at", "key", "summary", "closed_at"]
    list_filter = ["key", "opened_at"]
    search_fields = ["summary", "details"]
    date_hierarchy = "opened_at"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Incident._meta.fields]

from django.contrib import admin

from payments.services import credits_refund_for_job
from vectorize import services
from vectorize.models import Vectorization


@admin.register(Vectorization)
class VectorizationAdmin(admin.ModelAdmin):
    list_display = [
        "original_filename",
        "owner",
        "status",
        "preset",
        "used_preset",
        "dimensions",
        "input_bytes",
        "output_bytes",
        "engine_ms",
        "attempts",
        "created_at",
    ]
    list_filter = ["status", "preset", "used_preset", "source_format", "created_at"]
    search_fields = ["id", "original_filename", "owner__email", "error_message"]
    list_select_related = ["owner"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    fieldsets = [
        (None, {"fields": ["id", "owner", "status", "error_code", "error_message"]}),
        (
            "Input",
            {
                "fields": [
                    "original_filename",
                    "source_format",
                    "input_file",
                    "input_bytes",
                    "width",
                    "height",
                    "has_alpha",
                ]
            },
        ),
        ("Settings", {"fields": ["preset", "options", "used_preset", "parameters"]}),
        (
            "Timing and output",
            {
                "fields": [
                    "created_at",
                    "started_at",
                    "finished_at",
                    "engine_ms",
                    "attempts",
                    "output_file",
                    "output_bytes",
                    "metrics",
                ]
            },
        ),
    ]

    actions = ["requeue", "refund"]

    @admin.action(description="Send the selected jobs through the queue again")
    def requeue(self, request, queryset):
        done = sum(services.vectorization_requeue(vectorization=job) for job in queryset)
        self.message_user(request, f"Re-queued {done} job(s); finished ones were left alone.")

    @admin.action(description="Refund the selected jobs' credits (once per job)")
    def refund(self, request, queryset):
        refunds = [credits_refund_for_job(job=job) for job in queryset]
        self.message_user(request, f"{sum(1 for entry in refunds if entry)} job(s) refunded.")

    def get_readonly_fields(self, request, obj=None):
        # Jobs change only through the services: every field is read-only here.
        return [field.name for field in Vectorization._meta.fields]

    @admin.display(description="size")
    def dimensions(self, job):
        return f"{job.width}×{job.height}"

    def has_add_permission(self, request):
        return False  # jobs come from uploads, through the service

    # Deleting goes through the service too, so the files go with the row and the API stops
    # showing the job at once.
    def delete_model(self, request, obj):
        services.vectorization_delete(vectorization=obj)

    def delete_queryset(self, request, queryset):
        for job in queryset:
            services.vectorization_delete(vectorization=job)

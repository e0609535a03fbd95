from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard import selectors


@staff_member_required
@require_GET
def index(request):
    return render(request, "dashboard/index.html", {"summary": selectors.dashboard_summary()})


@staff_member_required
@require_GET
def panel(request):
    """The figures alone, for the page's script to swap in every 30 seconds."""
    return render(request, "dashboard/_panel.html", {"summary": selectors.dashboard_summary()})

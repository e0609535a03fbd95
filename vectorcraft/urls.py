from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerView

from dashboard import health, metrics
from vectorize import views as vectorize_views

# There is one way to log in with a password: allauth's login, rate-limited and refusing
# unconfirmed addresses. The admin has no login form of its own (it sends people there), and
# DRF's login view is not mounted (the API authenticates with keys, or the site's session).
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("", vectorize_views.home, name="home"),
    path("v/", include("vectorize.urls")),
    path("accounts/", include("accounts.urls")),
    path("credits/", include("payments.urls")),
    path("api/v1/", include("vectorcraft.api_urls")),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    path("health/live", health.live, name="health-live"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("dashboard/", include("dashboard.urls")),
    path("health/ready", health.ReadinessView.as_view(), name="health-ready"),
]

# An outage of PostgreSQL or Redis answers 503 with Retry-After; the API gets its error envelope.
handler500 = "vectorcraft.views.server_error"
# A body past Django's own limits gets the envelope under /api/, not Django's HTML page.
handler400 = "vectorcraft.views.bad_request"

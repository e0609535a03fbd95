"""/api/v1/"""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from accounts.api import AccountApi
from payments.api import CheckoutApi, CreditPackListApi
from vectorcraft.api import api_not_found
from vectorize import api

app_name = "api"

urlpatterns = [
    path("account/", AccountApi.as_view(), name="account"),
    path("vectorizations/", api.VectorizationListCreateApi.as_view(), name="vectorization-list"),
    path("vectorizations/batch/", api.BatchCreateApi.as_view(), name="batch-create"),
    path(
        "vectorizations/<str:vectorization_id>/",
        api.VectorizationDetailApi.as_view(),
        name="vectorization-detail",
    ),
    path(
        "vectorizations/<str:vectorization_id>/download/",
        api.VectorizationDownloadApi.as_view(),
        name="vectorization-download",
    ),
    path(
        "vectorizations/<str:vectorization_id>/rerun/",
        api.VectorizationRerunApi.as_view(),
        name="vectorization-rerun",
    ),
    path("batches/<str:batch_id>/", api.BatchDetailApi.as_view(), name="batch-detail"),
    path("credit-packs/", CreditPackListApi.as_view(), name="credit-pack-list"),
    path("credit-packs/<str:code>/checkout/", CheckoutApi.as_view(), name="credit-pack-checkout"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Anything else under /api/v1/ is a 404 in the error envelope, never an HTML page.
    re_path(r"^[\s\S]*$", api_not_found, name="not-found"),
]

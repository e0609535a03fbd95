"""/api/v1/"""

from django.urls import path

from accounts.api import AccountApi

app_name = "api"

urlpatterns = [
    path("account/", AccountApi.as_view(), name="account"),
]

from django.contrib import admin
from django.urls import include, path

from vectorize import views as vectorize_views

urlpatterns = [
    path("", vectorize_views.home, name="home"),
    path("v/", include("vectorize.urls")),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
]

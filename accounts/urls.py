from django.urls import include, path

from accounts import views

urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("keys/", views.api_key_create, name="api_key_create"),
    path("keys/<str:prefix>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("delete/", views.account_delete, name="account_delete"),
    path("", include("allauth.urls")),
]

from django.urls import path

from vectorize import views

app_name = "vectorize"

urlpatterns = [
    path("upload/", views.upload, name="upload"),
    path("history/", views.history, name="history"),
    path("<uuid:vectorization_id>/", views.detail, name="detail"),
    path("<uuid:vectorization_id>/status/", views.status, name="status"),
    path("<uuid:vectorization_id>/download/", views.download, name="download"),
    path("<uuid:vectorization_id>/preview.svg", views.preview, name="preview"),
    path("<uuid:vectorization_id>/original.png", views.original, name="original"),
    path("<uuid:vectorization_id>/delete/", views.delete, name="delete"),
    path("<uuid:vectorization_id>/rerun/", views.rerun, name="rerun"),
]

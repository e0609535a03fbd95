from django.apps import AppConfig


class VectorizeConfig(AppConfig):
    name = "vectorize"
    verbose_name = "Vectorization"

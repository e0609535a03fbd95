from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from vectorize.models import Vectorization


def vectorization_list_for_user(*, user) -> QuerySet[Vectorization]:
    return Vectorization.objects.filter(owner=user).order_by("-created_at")


def vectorization_get_for_user(*, user, vectorization_id) -> Vectorization:
    """The user's own job, or 404: someone else's job looks exactly like one that does not exist."""
    return get_object_or_404(Vectorization, pk=vectorization_id, owner=user)

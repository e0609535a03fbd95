from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors, services
from accounts.forms import AccountDeleteForm, ApiKeyCreateForm
from accounts.models import ApiKey
from vectorcraft.errors import ApplicationError


def _profile(request, *, key_form=None, delete_form=None, new_key=None, status=200):
    context = {
        "summary": selectors.account_summary_for_user(user=request.user),
        "api_keys": selectors.api_key_list_for_user(user=request.user),
        "key_form": key_form or ApiKeyCreateForm(),
        "delete_form": delete_form or AccountDeleteForm(user=request.user),
        "new_key": new_key,
    }
    return render(request, "accounts/profile.html", context, status=status)


@login_required
@require_http_methods(["GET"])
def profile(request):
    return _profile(request)


@login_required
@require_POST
def api_key_create(request):
    form = ApiKeyCreateForm(request.POST)
    if not form.is_valid():
        return _profile(request, key_form=form)
    try:
        api_key, secret = services.api_key_create(user=request.user, name=form.cleaned_data["name"])
    except ApplicationError as error:
        form.add_error("name", error.message)
        return _profile(request, key_form=form)
    # Rendered, not redirected: the secret exists only in this one response.
    response = _profile(request, new_key={"api_key": api_key, "secret": secret})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def api_key_revoke(request, prefix):
    api_key = get_object_or_404(ApiKey, user=request.user, prefix=prefix)
    services.api_key_revoke(api_key=api_key)
    messages.success(request, f"Revoked the key “{api_key.name}”. It stops working at once.")
    return redirect("profile")


@login_required
@require_POST
def account_delete(request):
    form = AccountDeleteForm(request.POST, user=request.user)
    if not form.is_valid():
        return _profile(request, delete_form=form)
    services.user_delete(user=request.user)
    logout(request)
    messages.success(request, "Your account and all your images have been deleted.")
    return redirect("home")

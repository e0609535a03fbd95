import uuid

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect, render
from django.urls import path

from accounts.models import User
from payments import services
from payments.models import CreditAccount, CreditEntry, CreditPack, Order, Payment
from vectorcraft.errors import ApplicationError


@admin.register(CreditPack)
class CreditPackAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "credits", "price", "currency", "active", "sort_order"]
    list_editable = ["active", "sort_order"]
    list_filter = ["active", "currency"]
    search_fields = ["code", "name"]


class PaymentInline(admin.TabularInline):
    """Each PayPal payment of the order, with its refunds, chargebacks and their cancellations."""

    model = Payment
    extra = 0
    can_delete = False
    fields = readonly_fields = [
        "txn_id",
        "amount",
        "currency",
        "credits",
        "status",
        "refunded_amount",
        "credits_taken_back",
        "reversals",
        "created_at",
    ]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    inlines = [PaymentInline]
    list_display = ["id", "user", "pack", "credits", "amount", "currency", "status", "created_at"]
    list_filter = ["status", "currency", "created_at"]
    search_fields = ["id", "user__email", "txn_id"]
    list_select_related = ["user", "pack"]
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        # Orders change only through payments: staff look, they do not edit.
        return [field.name for field in Order._meta.fields]

    def has_add_permission(self, request):
        return False


class AdjustmentForm(forms.Form):
    email = forms.EmailField(label="User's e-mail")
    delta = forms.IntegerField(label="Credits (+ to grant, - to remove)")
    reason = forms.CharField(max_length=300)


@admin.register(CreditEntry)
class CreditEntryAdmin(admin.ModelAdmin):
    """The ledger: read-only. Staff grant or remove credits with a new entry (Adjust credits)."""

    list_display = [
        "created_at",
        "user",
        "delta",
        "kind",
        "balance_after",
        "reference",
        "created_by",
    ]
    list_filter = ["kind", "created_at"]
    search_fields = ["user__email", "reference", "idempotency_key"]
    list_select_related = ["user", "created_by"]
    date_hierarchy = "created_at"
    change_list_template = "admin/payments/creditentry/change_list.html"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in CreditEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        adjust = self.admin_site.admin_view(self.adjust_view)
        return [path("adjust/", adjust, name="payments_creditentry_adjust"), *super().get_urls()]

    def adjust_view(self, request):
        form = AdjustmentForm(request.POST or None, initial={"email": request.GET.get("email", "")})
        if request.method == "POST" and form.is_valid():
            user = User.objects.filter(email__iexact=form.cleaned_data["email"]).first()
            if user is None:
                form.add_error("email", "No account with that address.")
            else:
                try:
                    entry = services.credits_adjust(
                        user=user,
                        delta=form.cleaned_data["delta"],
                        staff=request.user,
                        reason=form.cleaned_data["reason"],
                        key=f"staff:{request.user.pk}:{request.POST.get('nonce', '')}",
                    )
                except ApplicationError as error:
                    form.add_error(None, error.message)
                else:
                    messages.success(
                        request,
                        f"{entry.delta:+d} credits for {user}; balance {entry.balance_after}.",
                    )
                    return redirect("admin:payments_creditentry_changelist")
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": "Adjust credits",
            "opts": self.model._meta,
            # One key per form shown: a double-submitted form books once.
            "nonce": uuid.uuid4().hex,
        }
        return render(request, "admin/payments/creditentry/adjust.html", context)


@admin.register(CreditAccount)
class CreditAccountAdmin(admin.ModelAdmin):
    list_display = ["user", "balance", "updated_at"]
    search_fields = ["user__email"]
    list_select_related = ["user"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in CreditAccount._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

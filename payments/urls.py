from django.urls import path

from payments import simulator, views

app_name = "payments"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("buy/<slug:code>/", views.buy, name="buy"),
    path("orders/<uuid:order_id>/done/", views.paypal_return, name="return"),
    path("orders/<uuid:order_id>/cancelled/", views.paypal_cancel, name="cancel"),
    path("paypal/ipn/", views.paypal_ipn, name="paypal-ipn"),
    # Answers 404 unless PAYPAL_SIMULATOR is on (never in production).
    path("paypal-simulator/", simulator.checkout, name="simulator-checkout"),
    path("paypal-simulator/pay/", simulator.pay, name="simulator-pay"),
    path("paypal-simulator/cancel/", simulator.cancel, name="simulator-cancel"),
]

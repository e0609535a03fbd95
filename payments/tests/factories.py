from decimal import Decimal
from urllib.parse import urlencode

from payments.models import CreditPack, Order


def pack(code="test-pack", credits=50, price="5.00", currency="USD") -> CreditPack:
    # update_or_create: the packs the migrations add may or may not be there (a transactional
    # test empties the tables).
    created, _ = CreditPack.objects.update_or_create(
        code=code,
        defaults={
            "name": "Test pack",
            "credits": credits,
            "price": Decimal(price),
            "currency": currency,
        },
    )
    return created


def order_for(user, **pack_fields) -> Order:
    chosen = pack(**pack_fields)
    return Order.objects.create(
        user=user,
        pack=chosen,
        credits=chosen.credits,
        amount=chosen.price,
        currency=chosen.currency,
    )


def ipn_body(order: Order, **overrides) -> str:
    """An IPN as PayPal sends it for a completed Payments Standard purchase."""
    fields = {
        "txn_type": "web_accept",
        "payment_status": "Completed",
        "payment_type": "instant",
        "business": "payments@vectorcraft.local",
        "receiver_email": "payments@vectorcraft.local",
        "receiver_id": "S8XGHLYDW9T3S",
        "item_name": "VectorCraft Test pack: 50 credits",
        "quantity": "1",
        "invoice": str(order.pk),
        "mc_gross": str(order.amount),
        "mc_fee": "0.45",
        "mc_currency": order.currency,
        "txn_id": "51403485VH153354B",
        "payer_email": order.user.email,
        "payer_id": "BN5JZ2V7MLEV4",
        "payer_status": "verified",
        "payment_date": "20:12:59 Jan 13, 2026 PST",
        "notify_version": "3.9",
        "charset": "utf-8",
        "verify_sign": "AtkOfCXbDm2hu0ZELryHFjY-Vb7PAUvS6nMXgysbElEn9v-1XcmSoGtf",
    }
    fields.update(overrides)
    return urlencode(fields)

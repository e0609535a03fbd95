from payments.selectors import balance_for_user


def credits(request):
    """The signed-in user's balance, for the site header."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"credit_balance": balance_for_user(user=user)}

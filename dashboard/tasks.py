from dashboard import services


def alerts_check() -> dict:
    """Q schedule, every minute."""
    return services.alerts_check()

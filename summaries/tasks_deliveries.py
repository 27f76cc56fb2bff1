"""RQ jobs of the `deliveries` queue: thin, take ids, call one service."""

from summaries.deliveries import delivery_run


def run_delivery(delivery_id: int) -> str:
    return delivery_run(delivery_id=delivery_id)

"""RQ jobs of the `deliveries` queue: thin, take ids, call one service."""

from summaries.batches import regeneration_batches_poll
from summaries.deliveries import delivery_run


def run_delivery(delivery_id: int) -> str:
    return delivery_run(delivery_id=delivery_id)


def poll_regeneration_batches() -> dict:
    return regeneration_batches_poll()

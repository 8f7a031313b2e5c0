"""Background jobs of the channels: sending the outbox (``channels.outbox``)."""

from __future__ import annotations

from django_tasks import task

from yiti.channels.outbox import outbox_deliver, outbox_deliver_due


@task()
def outbox_send_task(message_id: int) -> str:
    """The first try of one queued message, enqueued after the commit that queued it."""
    return outbox_deliver(message_id=message_id)


@task()
def outbox_retry_task(slot: str = "") -> dict[str, int]:
    """Every minute: the retries that are due, and any first try the queue lost."""
    return outbox_deliver_due()

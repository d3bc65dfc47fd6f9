from celery import shared_task

from boxoffice.waitingroom.services import queue_tick_all


@shared_task(ignore_result=True)
def queue_tick_task() -> dict[str, int]:
    return queue_tick_all()

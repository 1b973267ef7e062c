"""RQ job functions. Each is a thin entry that finds the worker's services and delegates."""
from __future__ import annotations

from bot.runtime import current_services


def drain_partition(partition: str) -> int:
    """Handle the waiting events of one user (or group/room), in order."""
    return current_services().event_processor().drain(partition)

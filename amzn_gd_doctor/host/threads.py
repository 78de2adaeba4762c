"""Which probe a host call is made for. The engine runs each probe in a thread of its own, named
``probe:<id>`` (doctor.collect); a recording keeps that id with each call it records, so that a
replay answers each probe from its own observations (host/recorded.py). Probes running at once
may ask the same question at different moments (the process list, while another probe's command
runs) and get different answers: a replay that handed them out in recorded order, whoever asked,
could give one probe another's answer, and then lack the answers that would follow from it."""

import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

PREFIX = "probe:"


def thread_name(probe_id: str) -> str:
    """The name of the thread that runs ``probe_id``."""
    return PREFIX + probe_id


def current_probe() -> "Optional[str]":
    """The id of the probe this thread runs, or None outside a probe's thread."""
    name = threading.current_thread().name
    return name[len(PREFIX) :] if name.startswith(PREFIX) else None

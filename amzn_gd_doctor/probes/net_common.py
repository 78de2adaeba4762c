"""Shared helpers of the network probes: running many bounded calls at once. No probes here."""

import threading
import time
from typing import TYPE_CHECKING, Callable, List, Optional, Sequence, TypeVar

if TYPE_CHECKING:
    from ..host import Budget

T = TypeVar("T")

# Time kept back from the run's deadline when a probe sizes its calls, so that a call that
# times out is still recorded as an observation (and the rules still run) before the deadline.
DEADLINE_RESERVE_S = 0.25
# How long past its own timeout a call may take before the probe stops waiting for it: socket
# timeouts fire within milliseconds, so this only matters for a call that is truly stuck.
BACKSTOP_S = 0.1
# The shortest timeout a call is given: enough for a loopback or in-VPC round trip.
MIN_CALL_TIMEOUT_S = 0.1


def call_timeout(budget: "Budget", wanted: float) -> float:
    """``wanted``, shortened so the call ends ``DEADLINE_RESERVE_S`` before the deadline."""
    left = budget.budget(wanted + DEADLINE_RESERVE_S)
    return max(MIN_CALL_TIMEOUT_S, left - DEADLINE_RESERVE_S)


def parallel(
    calls: "Sequence[Callable[[], T]]", timeout: float, on_timeout: "Callable[[int], T]"
) -> "List[T]":
    """Run every call on its own daemon thread and return their results in the order given.

    Each call bounds itself through the host; ``timeout`` is a backstop so one stuck call can
    never hold the probe: a call still running then is replaced by ``on_timeout(index)``. A
    call that raised has its exception raised here, on the probe's thread."""
    results: List[Optional[T]] = [None] * len(calls)
    done = [False] * len(calls)
    errors: List[BaseException] = []

    def work(index: int) -> None:
        try:
            results[index] = calls[index]()
            done[index] = True
        except BaseException as exc:  # handed to the probe's thread below
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(i,), name=f"net-call-{i}", daemon=True)
        for i in range(len(calls))
    ]
    for thread in threads:
        thread.start()
    end = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
    if errors:
        raise errors[0]
    return [results[i] if done[i] else on_timeout(i) for i in range(len(calls))]  # type: ignore[misc]

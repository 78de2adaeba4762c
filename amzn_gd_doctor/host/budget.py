"""The run's one deadline budget, handed to a host at construction and shared by its parts.

Every part sizes its calls with ``budget()``, so no call runs past the run's deadline whichever
part makes it. The deadline is fixed when the budget is made (cli_app builds the host with the
run's deadline, ``Options.run_deadline``); nothing changes it afterwards.
"""

import time
from typing import Optional

# The shortest budget any call gets, so a call made just before the deadline still fails fast
# and cleanly instead of with a zero or negative timeout.
MIN_CALL_BUDGET_S = 0.05


class Budget:
    """A deadline (a ``time.monotonic()`` value, or None for none)."""

    def __init__(self, deadline: "Optional[float]" = None) -> None:
        self._deadline = deadline

    @property
    def deadline(self) -> "Optional[float]":
        return self._deadline

    def budget(self, timeout: float) -> float:
        """The timeout a call may use: its own, but never past the run's deadline."""
        if self.deadline is None:
            return timeout
        return max(MIN_CALL_BUDGET_S, min(timeout, self.deadline - time.monotonic()))

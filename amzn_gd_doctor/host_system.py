"""System part of the live host seam: the systemd journal and running processes.

Mixed into ``LiveHost``; every call is bounded in entries, bytes and time.
"""

from __future__ import annotations


class SystemHostMixin:
    """Journal entries and process facts (filled in by the agent and SSM probes)."""

"""The one seam to the host, made of small parts: files, commands, HTTP (IMDS), journal,
processes, network and clock, and over files and commands the package database and units
(protocols.py, where the host is declared once), composed into a host with one deadline budget
given at construction. A probe declares the parts it reads and is handed only those.

Every bound is enforced in the parts, so a probe cannot forget one: file reads take a byte
limit, commands and HTTP calls a timeout that never runs past the run's deadline. Hosts: the
live machine (live.py) and a foreign root (rooted.py, ``--root``), each building its own parts;
probes never ask which. recorded.py records any host and replays a recording, both made from
the same declaration.
"""

from ..answers import DnsAnswer, ProcessInfo, TcpResult, TlsResult
from .budget import Budget
from .commands import CommandResult, run_bounded
from .errors import CouldNotLook, HostTimeout, Unsupported
from .http import HttpFailure, HttpResponse
from .journal import JournalEntry, JournalRead
from .live import LiveHost
from .protocols import Host
from .rooted import RootedHost

__all__ = [
    "Budget",
    "CommandResult",
    "CouldNotLook",
    "DnsAnswer",
    "Host",
    "HostTimeout",
    "HttpFailure",
    "HttpResponse",
    "JournalEntry",
    "JournalRead",
    "LiveHost",
    "ProcessInfo",
    "RootedHost",
    "TcpResult",
    "TlsResult",
    "Unsupported",
    "run_bounded",
]

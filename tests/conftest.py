"""Fixtures over the shared helpers in support.py: a real IMDSv2-behaving HTTP server on
loopback, ports that refuse or black-hole, and the --update-golden option.

Network traffic in tests goes to loopback only: every doctor run gets an IMDS endpoint on
127.0.0.1 (or IMDS disabled) from these helpers.
"""

from __future__ import annotations

import socket
import threading
from typing import Callable, Dict, Iterator

import pytest
from scenarios import shared_reports
from support import ImdsServer, _ImdsHandler, _ImdsHTTPServer


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite golden report files instead of comparing (review the diff)",
    )


@pytest.fixture
def imds_server() -> Iterator[ImdsServer]:
    """A fresh IMDS on 127.0.0.1 with a healthy instance (IMDSv2, tags in metadata off)."""
    httpd = _ImdsHTTPServer(("127.0.0.1", 0), _ImdsHandler)
    httpd.imds = ImdsServer(port=httpd.server_address[1])
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.imds
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def blackhole_port() -> Iterator[int]:
    """A loopback port whose kernel completes the TCP handshake but nobody ever answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@pytest.fixture
def refused_port() -> int:
    """A loopback port nothing listens on: connections are refused at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return int(port)


@pytest.fixture(scope="session")
def scenario_reports(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[str], Dict[str, object]]:
    """Each scenario tree's report, diagnosed once per test run (tests/scenarios.py)."""
    return shared_reports(tmp_path_factory)

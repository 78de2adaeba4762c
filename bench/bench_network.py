#!/usr/bin/env python3
"""Timings of the network checks (DNS, TCP, TLS) against loopback servers only.

    python bench/bench_network.py [--runs N]

Runs the network probes and rules through the real engine and LiveHost, in process, with a
loopback IMDS (VPC CIDR 127.0.0.0/8), a loopback DNS server and a loopback TLS endpoint, and
prints one line per measurement with its target. Nothing is contacted beyond 127.0.0.0/8: the
resolver override replaces every resolver, so the Amazon resolver is never asked.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, List

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests"), str(REPO)]

from network.conftest import STANDARD, DnsServer, run_network  # noqa: E402
from support import ImdsServer, _ImdsHandler, _ImdsHTTPServer  # noqa: E402

BLACK_HOLE_DEADLINE_S = 2.0


def start_imds() -> str:
    httpd = _ImdsHTTPServer(("127.0.0.1", 0), _ImdsHandler)
    httpd.imds = ImdsServer(port=httpd.server_address[1], vpc_cidrs=("127.0.0.0/8",))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd.imds.url


def start_dns(answers: Any, default: Any = "nxdomain") -> str:
    server = DnsServer(answers, default)
    server.sock.bind(("127.0.0.1", 0))
    threading.Thread(target=server.serve, daemon=True).start()
    return server.address


def start_tls(address: str) -> int:
    """A TLS endpoint with a self-signed certificate: the handshake cost is what is measured,
    so the untrusted-certificate verdict does not matter here."""
    import socket
    import ssl
    import subprocess
    import tempfile

    workdir = Path(tempfile.mkdtemp(prefix="gd-bench-"))
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            f"/CN={STANDARD}",
            "-keyout",
            str(workdir / "k.pem"),
            "-out",
            str(workdir / "c.pem"),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(workdir / "c.pem"), str(workdir / "k.pem"))
    sock = socket.socket()
    sock.bind((address, 0))
    sock.listen(64)

    def serve() -> None:
        while True:
            conn, _ = sock.accept()
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (OSError, ssl.SSLError):
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return int(sock.getsockname()[1])


def measure(runs: int, fn: Callable[[], Any]) -> List[float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return times


def line(label: str, value: float, target: float) -> None:
    verdict = "ok" if value < target else "SLOW"
    print(f"  {label:<62} {value:6.3f} s  target < {target:.2f} s: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    imds = start_imds()
    port = start_tls("127.0.0.10")
    healthy = start_dns({STANDARD: ("127.0.0.10",)})
    holes = [start_dns({}, default="drop") for _ in range(3)]

    times = measure(runs, lambda: run_network(imds_url=imds, dns_servers=[healthy], port=port))
    line("network area, answering resolver + TCP + TLS (median)", statistics.median(times), 1.0)
    times = measure(
        runs, lambda: run_network(imds_url=imds, dns_servers=holes, deadline=BLACK_HOLE_DEADLINE_S)
    )
    line(
        f"network area, 3 resolvers black-holed, deadline {BLACK_HOLE_DEADLINE_S:g} s (worst)",
        max(times),
        BLACK_HOLE_DEADLINE_S + 0.5,
    )


if __name__ == "__main__":
    main()

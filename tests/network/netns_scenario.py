"""Run inside a fresh network and mount namespace by test_net_netns.py: a loopback-only world
where /etc/resolv.conf points at a DNS server on 127.0.0.1:53 and IMDS is on loopback. The
doctor then uses the host's own resolver path (resolv.conf, getaddrinfo, the Amazon resolver,
which has no route here). Prints the network findings and DNS answers as JSON."""

from __future__ import annotations

import json
import socket
import sys
import threading
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS), str(TESTS.parent)]

from support import ImdsServer, _ImdsHandler, _ImdsHTTPServer  # noqa: E402

from amzn_gd_doctor import doctor, registry  # noqa: E402
from amzn_gd_doctor.host import LiveHost  # noqa: E402
from network.conftest import STANDARD, DnsServer  # noqa: E402


def main() -> None:
    answer = sys.argv[1]
    dns = DnsServer({STANDARD: tuple(answer.split(",")) if answer[0].isdigit() else answer})
    dns.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dns.sock.bind(("127.0.0.1", 53))
    threading.Thread(target=dns.serve, daemon=True).start()
    httpd = _ImdsHTTPServer(("127.0.0.1", 0), _ImdsHandler)
    httpd.imds = ImdsServer(port=httpd.server_address[1], vpc_cidrs=("127.0.0.0/8",))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    probes, rules = registry.load()
    picked = {k: v for k, v in probes.items() if k.startswith(("net.", "imds."))}
    chosen = {k: v for k, v in rules.items() if k.startswith("network.")}
    report = doctor.run(
        LiveHost(env={}), doctor.Options(deadline=6.0, imds_endpoint=httpd.imds.url), picked, chosen
    )
    dns_fact = next(f for f in report.facts if f.probe_id == "net.dns")
    print(
        json.dumps(
            {
                "findings": {
                    f.rule_id: [f.outcome.value, f.issue, f.confidence.value, f.summary]
                    for f in report.findings
                },
                "answers": [
                    [a.server, a.name, a.status, list(a.addresses)] for a in dns_fact.value.answers
                ],
                "queries": dns.queries,
            }
        )
    )


if __name__ == "__main__":
    main()

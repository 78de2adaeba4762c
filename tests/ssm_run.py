"""Run the SSM document in a Debian tree through the SSM agent's own code (tests/ssm_agent.py),
inside a network namespace of its own.

As a script (`unshare -n python3 tests/ssm_run.py SPEC.json`) it brings up loopback in the new
namespace, serves the file named by the spec over HTTPS on 127.0.0.1 when asked (the source
URL then points there), runs `ssm-agent-doc run --chroot TREE` with the spec's parameters, and
prints the agent's JSON result with the tool's exit status added as `agentExit`. Nothing the
step does can reach another address: the namespace has no other interface.
"""

import json
import os
import ssl
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Dict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ssm_agent import run  # noqa: E402

INSTANCE_ID = "i-0123456789abcdef0"
# A presigned S3 URL's shape: its query is a credential that the step must never print.
PRESIGNED_QUERY = "?X-Amz-Signature=abc&x=1"


class _Files(BaseHTTPRequestHandler):
    body = b""

    def log_message(self, *args: object) -> None:  # keep the step's output clean
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


def serve_https(body: bytes, cert: str, key: str) -> int:
    handler = type("Files", (_Files,), {"body": body})
    httpd = HTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return int(httpd.server_address[1])


def main() -> None:
    with open(sys.argv[1]) as fh:
        spec: Dict[str, Any] = json.load(fh)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    values = dict(spec["values"])
    if spec.get("serve"):
        serve = spec["serve"]
        with open(serve["file"], "rb") as fh:
            port = serve_https(fh.read(), serve["cert"], serve["key"])
        values["source"] = f"https://127.0.0.1:{port}/amzn-gd-doctor.pyz{PRESIGNED_QUERY}"
    tree = spec["tree"]
    # Where the agent keeps a command's folder on an instance; it must be new for each run.
    orchestration = Path(tree, f"var/lib/amazon/ssm/{INSTANCE_ID}/document/orchestration")
    status, result = run(
        values, orchestration / spec["command_id"], chroot=Path(tree), env={"LANG": "C.UTF-8"}
    )
    result["agentExit"] = status
    print(json.dumps(result))


if __name__ == "__main__":
    main()

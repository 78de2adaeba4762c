"""Run an SSM Command document's aws:runShellScript step the way the SSM agent does (shared
reference, section 9): parameters substituted into the step's lines, the lines joined with
"\\n" plus a final "\\n", written as _script.sh (mode rwx) into the orchestration folder, then
`sh -c <path>`. Here the folder is inside a Debian tree and the shell runs under chroot.

As a script (`unshare -n python3 tests/ssm_run.py SPEC.json`) it runs inside a new network
namespace: it brings up loopback, serves the file named by the spec over HTTPS on 127.0.0.1
when asked, and prints what the step printed and its exit status as JSON. Nothing the step
does can reach another address: the namespace has no other interface.
"""

import json
import os
import re
import ssl
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Dict, List, Mapping

INSTANCE_ID = "i-0123456789abcdef0"
STEP_TIMEOUT_S = 600
_PARAM_RE = re.compile(r"\{\{\s*([A-Za-z0-9]+)\s*\}\}")


def declared_but_used(document: Mapping[str, Any]) -> List[str]:
    """Parameter references in the steps that the document does not declare."""
    text = json.dumps(document["mainSteps"])
    return sorted(set(_PARAM_RE.findall(text)) - set(document["parameters"]))


def substitute(document: Mapping[str, Any], values: Mapping[str, str]) -> str:
    """The step's script as the agent writes it, after checking each value as SSM does
    (allowedValues, or allowedPattern as a regular expression)."""
    params = document["parameters"]
    chosen = {name: values.get(name, spec.get("default", "")) for name, spec in params.items()}
    for name, value in chosen.items():
        spec = params[name]
        if "allowedValues" in spec and value not in spec["allowedValues"]:
            raise ValueError(f"{name}={value!r} is not one of {spec['allowedValues']}")
        if "allowedPattern" in spec and not re.search(spec["allowedPattern"], value):
            raise ValueError(f"{name}={value!r} does not match {spec['allowedPattern']}")
    (step,) = document["mainSteps"]
    script = "\n".join(step["inputs"]["runCommand"]) + "\n"
    return _PARAM_RE.sub(lambda m: chosen[m.group(1)], script)


def write_script(tree: str, command_id: str, step: str, script: str) -> str:
    """Write _script.sh where the agent would; returns its path inside the tree."""
    inside = (
        f"/var/lib/amazon/ssm/{INSTANCE_ID}/document/orchestration/{command_id}/{step}/_script.sh"
    )
    path = tree + inside
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(script)
    os.chmod(path, 0o700)
    return inside


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
        values["source"] = f"https://127.0.0.1:{port}/amzn-gd-doctor.pyz?X-Amz-Signature=abc&x=1"
    with open(spec["document"]) as fh:
        document = json.load(fh)
    inside = write_script(
        spec["tree"], spec["command_id"], "amznGdDoctorCheck", substitute(document, values)
    )
    proc = subprocess.run(
        ["chroot", spec["tree"], "sh", "-c", inside],
        env={
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
        },
        capture_output=True,
        timeout=STEP_TIMEOUT_S,
    )
    out = {
        "returncode": proc.returncode,
        "stdout": proc.stdout.decode(),
        "stderr": proc.stderr.decode(),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()

# The body of the SSM document's step (packaging/ssm/AmznGdDoctor-Check.json is generated from
# this file by scripts/build_ssm_document.py; edit here). Runs on the instance's own python3,
# 3.6 or newer, with the standard library only: hosts may lack curl and the AWS CLI.
#
# argv: SOURCE SHA256 FORMAT DEADLINE EXIT_STATUS
#   SOURCE       "installed" (the amzn-gd-doctor command of the rpm/deb package) or an https://
#                URL of amzn-gd-doctor.pyz (a presigned S3 URL works)
#   SHA256       the pyz's sha256, required with a URL
#   EXIT_STATUS  "report": 0 whenever the doctor printed a report, whatever its verdict;
#                "verdict": the doctor's own status (0 healthy, 1 unhealthy, 3 could not decide)
# Either way 2 means the doctor could not be run, and the step never exits 194, which asks the
# SSM agent to reboot the instance.
import hashlib
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import urllib.request

# The pyz is under 1 MB; anything far larger is not it.
MAX_DOWNLOAD = 64 * 1024 * 1024
DOWNLOAD_TIMEOUT_S = 60
CHUNK = 64 * 1024
USAGE = 2


def fail(message):
    sys.stdout.write("amzn-gd-doctor: " + message + "\n")
    sys.stdout.flush()
    sys.exit(USAGE)


def on_signal(signum, frame):
    # SSM ends a step that runs past timeoutSeconds: clean up on the way out.
    raise SystemExit(USAGE)


def shown(url):
    """The URL without what may be a credential: the query (a presigned URL's signature) and
    any user-info before the host."""
    scheme, _, rest = url.split("?")[0].partition("://")
    authority, slash, path = rest.partition("/")
    return scheme + "://" + authority.rpartition("@")[2] + slash + path


def download(url, digest, dest):
    where = shown(url)
    hasher = hashlib.sha256()
    size = 0
    try:
        answer = urllib.request.urlopen(
            url, timeout=DOWNLOAD_TIMEOUT_S, context=ssl.create_default_context()
        )
        with answer, open(dest, "wb") as out:
            while True:
                chunk = answer.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_DOWNLOAD:
                    fail(f"download refused: more than {MAX_DOWNLOAD} bytes at {where}")
                hasher.update(chunk)
                out.write(chunk)
    except (OSError, ValueError) as exc:
        fail(f"download failed from {where}: {exc}")
    if hasher.hexdigest() != digest:
        fail(
            f"sha256 mismatch: expected {digest}, got {hasher.hexdigest()} from {where}; "
            "nothing was run"
        )


def doctor(argv):
    """Run the doctor with its report passed through; its status, and whether it printed
    anything (a Python traceback also exits 1, and prints no report)."""
    sys.stdout.flush()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE)
    printed = 0
    while True:
        chunk = child.stdout.read(CHUNK)
        if not chunk:
            break
        printed += len(chunk)
        sys.stdout.buffer.write(chunk)
    sys.stdout.flush()
    return child.wait(), printed > 0


def main():
    source, digest, fmt, deadline, exit_status = sys.argv[1:6]
    digest = digest.lower()
    signal.signal(signal.SIGTERM, on_signal)
    args = ["check", "--no-color", "--format", fmt, "--deadline", deadline]
    if source == "installed":
        command = shutil.which("amzn-gd-doctor")
        if command is None:
            fail(
                "not installed on this instance (no amzn-gd-doctor command): install the "
                "rpm or deb package, or run the document with source set to the pyz's URL"
            )
        code, printed = doctor([command] + args)
    else:
        if not source.startswith("https://"):
            fail("source must be 'installed' or an https:// URL")
        if len(digest) != 64:
            fail("sha256 is required when source is a URL")
        private = tempfile.mkdtemp(prefix="amzn-gd-doctor-")  # mode 0700
        try:
            pyz = os.path.join(private, "amzn-gd-doctor.pyz")
            download(source, digest, pyz)
            code, printed = doctor([sys.executable, pyz] + args)
        finally:
            shutil.rmtree(private, ignore_errors=True)
    if code not in (0, 1, 3) or not printed:  # usage error, crash or signal: no report
        fail(f"the doctor stopped without a report (exit status {code})")
    sys.exit(code if exit_status == "verdict" else 0)


main()

"""Entry point of the one-file build: `python3 amzn-gd-doctor.pyz [ARGS]`."""

import os
import sys

if sys.version_info < (3, 7):  # noqa: UP036  (the zip also runs on 3.6)
    # The dataclasses backport lives apart so that it never shadows the standard library's
    # module on newer interpreters.
    sys.path.insert(1, os.path.join(os.path.dirname(os.path.abspath(__file__)), "_py36"))

from amzn_gd_doctor.cli import main  # noqa: E402

main()

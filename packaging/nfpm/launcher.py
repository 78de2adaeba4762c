#!/usr/bin/env python3
"""amzn-gd-doctor, as the deb and rpm install it (/usr/bin/amzn-gd-doctor).

The doctor and its pure-Python dependencies are in /usr/share/amzn-gd-doctor, with bytecode for
each interpreter from 3.6 to 3.13 beside them, compiled at build time (scripts/build_pyz.py
--tree): Python's own importer loads a module's pyc when the pyc carries this interpreter's cache
tag and the time stamp and size of the source beside it, and compiles the source otherwise.
Nothing is written at run time. The folder is found beside this file's real path, so that an
unpacked package (dpkg -x, rpm2cpio) runs as it is.

The folder's modules are loaded by Python's own loader, timed for the report's `timing`
(amzn_gd_doctor/timed_imports.py, itself loaded from its pyc: this script is compiled on every
run, and each line of it costs).
"""

import os
import sys

sys.dont_write_bytecode = True  # a source edited after install is compiled, never cached
HERE = os.path.dirname(os.path.realpath(__file__))
LIB = os.path.join(os.path.dirname(HERE), "share", "amzn-gd-doctor")
# The script's own folder (/usr/bin) is no place to import from.
if sys.path and sys.path[0] == HERE:
    sys.path[0] = LIB
else:
    sys.path.insert(0, LIB)

from amzn_gd_doctor.timed_imports import install  # noqa: E402

install(LIB)

from amzn_gd_doctor.cli import main  # noqa: E402

main()

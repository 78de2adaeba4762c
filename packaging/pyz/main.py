"""Entry point of the one-file build: `python3 amzn-gd-doctor.pyz [ARGS]`.

Kept small: zipimport compiles this file from source on every run. `--version` is answered
here, before anything else is read; every other command imports the file's own importer
(packaging/pyz/importer.py, which says how the file's bytecode is chosen), then the doctor.
"""

import sys

VERSION = None  # the doctor's version, written here by the build (scripts/build_pyz.py)
if VERSION is not None and sys.argv[1:] in (["--version"], ["-V"]):
    import os

    # As amzn_gd_doctor.cli answers it (main, _fast_path, _exit, _cannot_write).
    try:
        if sys.stdout is None:
            raise OSError(9, "standard output is closed")
        sys.stdout.write(f"amzn-gd-doctor {VERSION}\n")
        sys.stdout.flush()
        code = 0
    except BrokenPipeError:
        code = 1
    except OSError as error:
        code = 2
        try:
            sys.stderr.write(f"amzn-gd-doctor: cannot write the output: {error.strerror}\n")
            sys.stderr.flush()
        except (AttributeError, OSError, ValueError):
            pass  # no standard error either: the exit status is all that is left to say it
    os._exit(code)

import _amzn_gd_doctor_pyz  # noqa: E402,F401 (puts the importer in place)

from amzn_gd_doctor.cli import main  # noqa: E402

main()

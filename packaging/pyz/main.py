"""Entry point of the one-file build: `python3 amzn-gd-doctor.pyz [ARGS]`."""

from amzn_gd_doctor.cli import main

main()

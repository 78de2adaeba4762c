"""amzn-gd-doctor: explains on an EC2 instance why GuardDuty Runtime Monitoring is Unhealthy."""

import time

__version__ = "0.1.0"
# When the doctor's first module was imported: the report's start-up time counts from here
# (the interpreter's own start-up comes before it and is not seen).
IMPORTED = time.monotonic()

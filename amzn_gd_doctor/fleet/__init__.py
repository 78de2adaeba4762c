"""Fleet view: Run Command output of many instances, read back and rolled up by cause.

Not part of the on-host check: nothing here is imported by `check`.
"""

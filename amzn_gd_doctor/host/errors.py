"""What a host's parts raise when they cannot answer; imported by every part and every probe."""


class Unsupported(Exception):
    """The host cannot answer this kind of question (for example a command under --root)."""


class CouldNotLook(Exception):
    """A probe could not observe what it was after; the message says why."""


class HostTimeout(Exception):
    """A call ran out of time."""

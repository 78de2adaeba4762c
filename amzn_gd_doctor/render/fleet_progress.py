"""What `fleet summarize` says on stderr while it works: a live line (only on a terminal) that
starts at once, counts the outputs read (of the total once it is known) and then names the
file being written; then ``wrote FILE`` whenever ``-o`` was given, terminal or not, and the
note on instances with more than one output when the view itself does not carry it.
"""

import time
from typing import Optional, TextIO

from .fleet_safe import shown


class Progress:
    def __init__(self, stream: "TextIO", live: bool) -> None:
        self.stream = stream
        self.live = live
        self.width = 0  # of the live line on screen, to blank it
        self.started = time.monotonic()
        self.source = ""

    def _show(self, line: str) -> None:
        if not self.live:
            return
        pad = max(0, self.width - len(line))
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()
        self.width = len(line)

    def clear(self) -> None:
        """Blanks the live line, so that what follows starts on a clean line."""
        if self.live and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0

    def start(self, source: str) -> None:
        self.source = shown(source)
        self._show(f"reading {self.source} ...")

    def reading(self, read: int, total: "Optional[int]") -> None:
        if total is not None and total >= read:
            percent = 100 * read // total if total else 100
            done = f"{read:,} of {total:,} outputs read ({percent} %)"
        else:
            done = f"{read:,} outputs read"
        self._show(f"reading {self.source}: {done}")

    def writing(self, path: str, instances: int) -> None:
        """The live line, finished: what follows (``wrote FILE``, or why it could not be
        written) goes on a line of its own."""
        seconds = time.monotonic() - self.started
        self._show(f"{instances:,} instances summarised in {seconds:.1f} s; writing {shown(path)}")
        if self.live:
            self.stream.write("\n")
            self.stream.flush()
            self.width = 0

    def wrote(self, path: str) -> None:
        self.clear()
        self.stream.write(f"wrote {shown(path)}\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        self.clear()
        self.stream.write(f"Note: {text}.\n")
        self.stream.flush()

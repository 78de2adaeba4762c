"""The packages' launcher (packaging/nfpm/launcher.py) loads the doctor with Python's own
importer, timed for the report's `timing` as the one file's importer times its own
(packaging/pyz/importer.py): `import_ms`, the wall time during which some thread was importing a
module of the folder (and what that imports in turn), and `compile_ms`, the time spent compiling
sources because no valid pyc was there (an interpreter the package holds no bytecode for, an
optimised run, a source edited after install). Without them a host on which every run compiles
the whole doctor would look like a slow host. Imported by the launcher alone; nothing else
changes how modules are found or loaded.
"""

import os
import sys
import time

# Annotations only: the launcher imports this module on every start, `--version` included, and
# `typing` costs 14 ms to import on Python 3.6.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Tuple


def install(lib: str) -> None:
    """A path hook, first in sys.path_hooks, that finds the modules of LIB and of the folders in
    it as Python's FileFinder does, each source loaded by a SourceFileLoader that counts its
    time (its ``import_times()``, which the report reads); other folders are left to the hooks
    after it. The finders already made for LIB's folders (this module's own) are dropped, so
    that every module imported from now on is counted."""
    import _imp
    from _thread import allocate_lock, get_ident

    # importlib.machinery's classes, from the frozen module that holds them, loaded at every
    # start (importing importlib.machinery would be 0.5 ms of a 12 ms `--version`).
    machinery: Any = sys.modules.get("_frozen_importlib_external")
    if machinery is None:
        from importlib import machinery

    clock = time.monotonic
    lock = allocate_lock()
    depth: Dict[int, int] = {}  # thread -> how deep in imports of LIB's modules it is
    # threads importing, since when, seconds during which some thread imported, seconds compiling
    state: List[Any] = [0, 0.0, 0.0, 0.0]

    class Loader(machinery.SourceFileLoader):  # type: ignore[misc]
        def exec_module(self, module: "Any") -> None:
            thread = get_ident()
            level = depth.get(thread, 0)
            depth[thread] = level + 1
            if not level:
                with lock:
                    state[0] += 1
                    if state[0] == 1:
                        state[1] = clock()
            try:
                super().exec_module(module)
            finally:
                depth[thread] = level
                if not level:
                    with lock:
                        state[0] -= 1
                        if not state[0]:
                            state[2] += clock() - state[1]

        def source_to_code(self, data: "Any", path: "Any", *, _optimize: int = -1) -> "Any":
            began = clock()
            try:
                return super().source_to_code(data, path, _optimize=_optimize)
            finally:
                with lock:
                    state[3] += clock() - began

        def import_times(self) -> "Tuple[float, float]":
            """(seconds importing, seconds compiling) so far."""
            with lock:
                now = clock() - state[1] if state[0] else 0.0
                return state[2] + now, state[3]

    hook: Callable[[str], Any] = machinery.FileFinder.path_hook(
        (machinery.ExtensionFileLoader, _imp.extension_suffixes()),
        (Loader, machinery.SOURCE_SUFFIXES),
        (machinery.SourcelessFileLoader, machinery.BYTECODE_SUFFIXES),
    )
    inside = lib + os.sep

    def lib_folders(path: str) -> "Any":
        if path == lib or path.startswith(inside):
            return hook(path)
        raise ImportError("not a folder of " + lib)

    sys.path_hooks.insert(0, lib_folders)
    for path in list(sys.path_importer_cache):
        if path == lib or path.startswith(inside):
            del sys.path_importer_cache[path]

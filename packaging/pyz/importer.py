"""The importer of the one-file build (`_amzn_gd_doctor_pyz` in the file), put in place when the
file's __main__ (packaging/pyz/main.py) imports it, before the doctor is imported.

The file is a zip with few names. The interpreter reads the whole directory of a zip it is asked
to run before any of the zip's code runs (zipimport, in pure Python from 3.8 on: about 5 us a
name on 3.13), so the modules and data the file carries are not names of it: they are one
stored member, `modules.zip`, a zip of its own whose bytes lie in the file as they are. Its
directory is read here, once, when a command needs the doctor (`--version` does not). The file's
own names are `__main__.py` and this module (with the newest interpreter's pyc of each, which
zipimport uses on that interpreter only), the licences, `modules.zip`, and the bytecode:

zipimport compiles every module it loads from source, on every run, and never keeps the result.
So the build puts in the file bytecode for each interpreter it found (3.6 to 3.13), each one
stored member, `__pycache__/<sys.implementation.cache_tag>.bytecode`: the line
`amzn-gd-doctor bytecode 1`, the index's length (4 bytes, little-endian), the index
(`<module member> <offset> <length> <CRC-32> <size>` a line: where its pyc is, and the source
it was compiled from) and each module's pyc, compressed with zlib. A pyc is what `py_compile`
writes for a checked hash-based pyc (PEP 552: magic number, flags 0b11,
`importlib.util.source_hash` of the source, code); 3.6 has no hash-based pycs, and its pyc holds
the source's CRC-32 and size in place of the hash.

The importer below, first on sys.meta_path after the interpreter's own built-in and frozen
modules, serves every module of `modules.zip` from the running interpreter's bytecode when it
is valid, and compiles its source when it is not. A module's bytecode is used only when all of
these hold, so that a stale or foreign one is never loaded:

- it is in the member named with this interpreter's cache tag, and the run is not optimised
  (`-O` wants other bytecode);
- its pyc starts with this interpreter's magic number (`importlib.util.MAGIC_NUMBER`) and the
  flags 0b11;
- the CRC-32 and size of the source it was compiled from are those of the source in the
  directory of `modules.zip`, which whatever rewrites a member rewrites too. Reading and hashing
  each source again would answer the same question at a cost (1 MB of sources for a `check`: 5
  ms, a twentieth of the run).

The modules look as zipimport would make them: `__file__`, `__path__`, code and tracebacks name
`<the file>/<package>/<module>.py`; `inspect.getsource` and tracebacks get the source from the
loader; `loader.get_data` reads a data file beside a module; `pkgutil.iter_modules` lists a
package's modules (through a path hook for the file's folders). Nothing is written anywhere.

`python -v` says, for each module, whether it came from bytecode or was compiled (and why). The
time spent importing the modules the file carries, and the part of it spent compiling, are in a
report's `timing` (`import_ms`, `compile_ms`).
"""

import sys
import time

BUNDLE_HEAD = b"amzn-gd-doctor bytecode 1\n"
PYC_FLAGS = b"\x03\x00\x00\x00"  # a checked hash-based pyc (PEP 552)
MODULES = "modules.zip"


class Damaged(Exception):
    """The file is not as its build wrote it."""


def _directory(fd, end):
    """{name: (offset of its local header, compression, compressed size, size, CRC-32)} of the
    zip whose last byte is before END in FD (offsets from the start of FD). No comment, no
    zip64: the build writes neither."""
    import os
    import struct

    record = os.pread(fd, 22, end - 22)
    if len(record) != 22 or record[:4] != b"PK\x05\x06":
        raise Damaged("no zip directory where it should end")
    count = int.from_bytes(record[10:12], "little")
    size = int.from_bytes(record[12:16], "little")
    offset = int.from_bytes(record[16:20], "little")
    start = end - 22 - size  # where the directory is; the zip may sit after other bytes
    shift = start - offset
    data = os.pread(fd, size, start)
    if start < 0 or shift < 0 or len(data) != size:
        raise Damaged("a zip directory out of bounds")
    # A directory entry: signature, compression (at 10), CRC-32, sizes, name, extra and comment
    # lengths (16 to 34), where its local header is (42).
    entry = struct.Struct("<4s6xH4xIIIHHH8xI").unpack_from
    out = {}
    at = 0
    try:
        for _ in range(count):
            sig, method, crc, packed, length, name_size, extra, comment, local = entry(data, at)
            if sig != b"PK\x01\x02":
                raise Damaged("a damaged zip directory entry")
            name = data[at + 46 : at + 46 + name_size].decode("utf-8")
            out[name] = (shift + local, method, packed, length, crc)
            at += 46 + name_size + extra + comment
    except (struct.error, UnicodeDecodeError) as error:
        raise Damaged(f"a damaged zip directory: {error}") from None
    return out


def _start(fd, entry):
    """Where the data of the member of directory ENTRY starts in FD."""
    import os

    local = os.pread(fd, 30, entry[0])
    if local[:4] != b"PK\x03\x04":
        raise Damaged("a damaged zip member")
    return (
        entry[0]
        + 30
        + int.from_bytes(local[26:28], "little")
        + int.from_bytes(local[28:30], "little")
    )


def _read(fd, entry):
    """A member's contents."""
    import os
    import zlib

    data = os.pread(fd, entry[2], _start(fd, entry))
    if entry[1] == 8:
        data = zlib.decompress(data, -15)
    elif entry[1] != 0:
        raise Damaged("a member compressed in an unknown way")
    if len(data) != entry[3] or zlib.crc32(data) & 0xFFFFFFFF != entry[4]:
        raise Damaged("a member whose contents are not as recorded")
    return data


def _bundle(fd, outer):
    """{module member: (offset, length, crc, size)} of this interpreter's bytecode in the file,
    or why there is none."""
    import os

    tag = sys.implementation.cache_tag
    if tag is None or sys.flags.optimize:
        return "an optimised run, or an interpreter without a cache tag"
    entry = outer.get(f"__pycache__/{tag}.bytecode")
    if entry is None or entry[1] != 0:
        return "no bytecode for " + tag
    start = _start(fd, entry)
    head = os.pread(fd, len(BUNDLE_HEAD) + 4, start)
    if head[: len(BUNDLE_HEAD)] != BUNDLE_HEAD:
        return f"bytecode for {tag} in an unknown form"
    size = int.from_bytes(head[len(BUNDLE_HEAD) :], "little")
    base = start + len(head) + size
    index = {}
    try:
        for line in os.pread(fd, size, start + len(head)).decode("utf-8").splitlines():
            member, offset, length, crc, source_size = line.split(" ")
            index[member] = (
                base + int(offset),
                int(length),
                int(crc),
                int(source_size),
            )
    except ValueError:
        return f"bytecode for {tag} in an unknown form"
    return index


def _install():
    import _imp
    import marshal
    import os
    import zipimport
    import zlib
    from _thread import allocate_lock, get_ident
    from importlib import util
    from importlib.machinery import PathFinder

    # The file, named as zipimport names it (in the __file__ of this module and of __main__).
    archive = zipimport.zipimporter(sys.path[0]).archive
    try:
        fd = os.open(archive, os.O_RDONLY)
        outer = _directory(fd, os.fstat(fd).st_size)
        if MODULES not in outer or outer[MODULES][1] != 0:
            raise Damaged(f"no {MODULES} in it")
        files = _directory(fd, _start(fd, outer[MODULES]) + outer[MODULES][3])
        index = _bundle(fd, outer)
    except (OSError, ValueError, Damaged) as error:
        sys.stderr.write(f"amzn-gd-doctor: cannot read {archive}: {error}\n")
        sys.stderr.flush()
        os._exit(2)
    header = util.MAGIC_NUMBER + PYC_FLAGS
    spec_from_file_location = util.spec_from_file_location
    fix_filename = getattr(_imp, "_fix_co_filename", None)
    verbose = sys.flags.verbose
    clock = time.monotonic
    prefix = archive + "/"

    def source_of(member):
        try:
            return _read(fd, files[member])
        except (OSError, zlib.error, Damaged) as error:
            raise ImportError(f"cannot read {prefix}{member}: {error}") from None

    class Importer:
        """Finder and loader of the modules this file carries (see the module docstring)."""

        def __init__(self):
            self.depth = {}  # thread -> how deep in this importer's imports it is
            self.lock = allocate_lock()
            self.importing = 0  # threads in an import of this importer's
            self.since = 0.0  # when the first of them began
            self.imported = 0.0  # seconds during which some thread was importing
            self.compiled = 0.0  # seconds spent compiling sources

        def import_times(self):
            """(seconds importing, seconds compiling) so far: the doctor's report reads them.
            Importing is the wall time during which one thread or more imported modules of
            this file (their bytecode or source, and what they import in turn)."""
            with self.lock:
                now = clock() - self.since if self.importing else 0.0
                return self.imported + now, self.compiled

        def find_spec(self, fullname, path=None, target=None):
            base = fullname.replace(".", "/")
            parent = prefix + base.rpartition("/")[0]
            if path is not None and "." in fullname and parent not in path:
                return None  # as zipimport: a submodule is looked for in its package's folder
            if base + "/__init__.py" in files:
                member, locations = base + "/__init__.py", [prefix + base]
            elif base + ".py" in files:
                member, locations = base + ".py", None
            else:
                return None
            return spec_from_file_location(
                fullname,
                prefix + member,
                loader=self,
                submodule_search_locations=locations,
            )

        def create_module(self, spec):
            return None

        def exec_module(self, module):
            thread = get_ident()
            depth = self.depth.get(thread, 0)
            self.depth[thread] = depth + 1
            if not depth:
                with self.lock:
                    self.importing += 1
                    if self.importing == 1:
                        self.since = clock()
            try:
                exec(self.get_code(module.__name__), module.__dict__)
            finally:
                self.depth[thread] = depth
                if not depth:
                    with self.lock:
                        self.importing -= 1
                        if not self.importing:
                            self.imported += clock() - self.since

        def _member(self, fullname):
            base = fullname.replace(".", "/")
            return base + "/__init__.py" if base + "/__init__.py" in files else base + ".py"

        def _bytecode(self, member):
            """The module's code from this interpreter's bytecode, or (None, why not)."""
            if not isinstance(index, dict):
                return None, index  # why there is none
            at = index.get(member)
            if at is None:
                return None, "no bytecode for this module"
            entry = files[member]  # (offset, compression, compressed size, size, crc)
            if (entry[4], entry[3]) != at[2:]:
                return None, "bytecode of another source"
            try:
                data = zlib.decompress(os.pread(fd, at[1], at[0]))
                if data[:8] != header:
                    return None, "bytecode of another interpreter or kind"
                return marshal.loads(memoryview(data)[16:]), ""
            except (OSError, zlib.error, ValueError, EOFError, TypeError):
                return None, "damaged bytecode"

        def get_code(self, fullname):
            member = self._member(fullname)
            path = prefix + member
            code, why = self._bytecode(member)
            if code is not None and fix_filename is not None:
                fix_filename(code, path)  # tracebacks name the file in the archive
                if verbose:
                    sys.stderr.write(f"# amzn-gd-doctor: {fullname} from bytecode\n")
                return code
            why = why or "no way to name the bytecode's file"
            began = clock()
            source = source_of(member).replace(b"\r\n", b"\n")
            code = compile(source, path, "exec", dont_inherit=True)
            self.compiled += clock() - began
            if verbose:
                sys.stderr.write(f"# amzn-gd-doctor: {fullname} compiled from source: {why}\n")
            return code

        def get_source(self, fullname):
            return util.decode_source(source_of(self._member(fullname)))

        def is_package(self, fullname):
            return self._member(fullname).endswith("/__init__.py")

        def get_filename(self, fullname):
            return prefix + self._member(fullname)

        def get_data(self, path):
            member = path[len(prefix) :] if path.startswith(prefix) else None
            if member not in files:
                raise FileNotFoundError(2, "No such file in the archive", path)
            return _read(fd, files[member])

    class Folder:
        """A folder of the file, as a path entry finder: what pkgutil.iter_modules lists in it.
        The modules themselves are found by the Importer, ahead of sys.path."""

        def __init__(self, folder):
            self.folder = folder  # "" or "package/sub/"

        def find_spec(self, fullname, target=None):
            return None

        def invalidate_caches(self):
            pass  # nothing cached here: the file's directory is read once and does not change

        def iter_modules(self, prefix=""):
            seen = set()
            for name in sorted(files):
                if not name.startswith(self.folder) or not name.endswith(".py"):
                    continue
                rest = name[len(self.folder) : -3].split("/")
                if len(rest) == 1 and rest[0] != "__init__":
                    found = (rest[0], False)
                elif len(rest) == 2 and rest[1] == "__init__":
                    found = (rest[0], True)
                else:
                    continue
                if found[0] not in seen and found[0].isidentifier():
                    seen.add(found[0])
                    yield prefix + found[0], found[1]

    def folder_of(path):
        if path == archive:
            return Folder("")
        if path.startswith(prefix):
            return Folder(path[len(prefix) :].rstrip("/") + "/")
        raise ImportError("not a folder of " + archive)

    sys.path_hooks.insert(0, folder_of)
    for path in list(sys.path_importer_cache):
        if path == archive or path.startswith(prefix):
            del sys.path_importer_cache[path]
    finders = sys.meta_path
    # Where zipimport's turn would come (sys.path[0] is this file): builtins go first as before.
    at = next((i for i, f in enumerate(finders) if f is PathFinder), len(finders))
    finders.insert(at, Importer())


_install()

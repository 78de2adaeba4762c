"""The importer of the one-file build (`_amzn_gd_doctor_pyz` in the file), put in place when the
file's __main__ (packaging/pyz/main.py) imports it, before the doctor is imported.

zipimport compiles every module it loads from source, on every run, and never keeps the result:
that was most of the one file's start-up. So the build puts in the file bytecode for each
interpreter it found (3.6 to 3.13), and the importer below, put in front of zipimport before the
doctor is imported, serves the modules the file carries from the bytecode of the running
interpreter when it is valid, and compiles the source, as zipimport does, when it is not.
Nothing is written anywhere.

Each interpreter's bytecode is one stored (uncompressed) member,
`__pycache__/<sys.implementation.cache_tag>.bytecode`: the line `amzn-gd-doctor bytecode 1`, the
index's length (4 bytes, little-endian), the index (`<source member> <offset> <length> <CRC-32>
<size>` a line: where its pyc is, and the source it was compiled from) and each module's pyc,
compressed with zlib. One member per interpreter, not one per module: zipimport reads the file's
whole directory on every start (in pure Python from 3.8 on), and 2,700 more entries cost 4 ms a
run on 3.6 and 10 ms on 3.13. A pyc is what `py_compile` writes for a checked hash-based pyc
(PEP 552: magic number, flags 0b11, `importlib.util.source_hash` of the source, code); 3.6 has
no hash-based pycs, and its pyc holds the source's CRC-32 and size in place of the hash.

A module's bytecode is used only when all of these hold, so that a stale or foreign one is
never loaded (else its source is compiled, as zipimport would):

- it is in the member named with this interpreter's cache tag, and the run is not optimised
  (`-O` wants other bytecode);
- its pyc starts with this interpreter's magic number (`importlib.util.MAGIC_NUMBER`) and the
  flags 0b11;
- the CRC-32 and size of the source it was compiled from are those of the source member in the
  file's directory, which zipimport has already read, and which whatever rewrites a member
  rewrites too. Reading and hashing each source again would answer the same question at a cost
  (1 MB of sources for a `check`: 5 ms, a twentieth of the run).

`python -v` says, for each module, whether it came from bytecode or was compiled (and why). The
time spent importing the modules the file carries, and the part of it spent compiling, are in a
report's `timing` (`import_ms`, `compile_ms`).
"""

import sys
import time

BUNDLE_HEAD = b"amzn-gd-doctor bytecode 1\n"
PYC_FLAGS = b"\x03\x00\x00\x00"  # a checked hash-based pyc (PEP 552)


def _bundle(files, archive):
    """(file descriptor, {source member: (offset, length, crc, size)}) of this interpreter's
    bytecode in ARCHIVE, whose zipimport directory is FILES; or (None, why there is none)."""
    import os

    tag = sys.implementation.cache_tag
    if tag is None or sys.flags.optimize:
        return None, "an optimised run, or an interpreter without a cache tag"
    # (path, compression, compressed size, size, local header offset, time, date, crc)
    entry = files.get(f"__pycache__/{tag}.bytecode")
    if entry is None or entry[1] != 0:
        return None, "no bytecode for " + tag
    fd = os.open(archive, os.O_RDONLY)
    try:
        local = os.pread(fd, 30, entry[4])  # the member's local header, then name and extra
        start = entry[4] + 30 + int.from_bytes(local[26:28], "little")
        start += int.from_bytes(local[28:30], "little")
        head = os.pread(fd, len(BUNDLE_HEAD) + 4, start)
        if local[:4] != b"PK\x03\x04" or head[: len(BUNDLE_HEAD)] != BUNDLE_HEAD:
            raise ValueError("not a bytecode member")
        size = int.from_bytes(head[len(BUNDLE_HEAD) :], "little")
        base = start + len(head) + size
        index = {}
        for line in os.pread(fd, size, start + len(head)).decode("utf-8").splitlines():
            member, offset, length, crc, source_size = line.split(" ")
            index[member] = (base + int(offset), int(length), int(crc), int(source_size))
        return fd, index
    except (OSError, ValueError, UnicodeDecodeError):
        os.close(fd)
        return None, f"bytecode for {tag} in an unknown form"


def _install():
    import _imp
    import marshal
    import os
    import zipimport
    import zlib
    from _thread import allocate_lock, get_ident
    from importlib import util
    from importlib.machinery import PathFinder

    reader = zipimport.zipimporter(sys.path[0])
    archive = reader.archive  # as zipimport names it: in __file__, __path__ and tracebacks
    files = getattr(zipimport, "_zip_directory_cache", {}).get(archive)
    if not isinstance(files, dict) or not hasattr(_imp, "_fix_co_filename"):
        return  # an interpreter whose zipimport is not as expected: zipimport loads everything
    header = util.MAGIC_NUMBER + PYC_FLAGS
    spec_from_file_location = util.spec_from_file_location
    verbose = sys.flags.verbose
    clock = time.monotonic
    try:
        fd, index = _bundle(files, archive)
    except OSError as error:  # the file cannot be opened again: it moved or went away
        fd, index = None, str(error)

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
            parent = archive + "/" + base.rpartition("/")[0]
            if path is not None and "." in fullname and parent not in path:
                return None  # as zipimport: a submodule is looked for in its package's folder
            if base + "/__init__.py" in files:
                member, locations = base + "/__init__.py", [archive + "/" + base]
            elif base + ".py" in files:
                member, locations = base + ".py", None
            else:
                return None
            return spec_from_file_location(
                fullname, archive + "/" + member, loader=self, submodule_search_locations=locations
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
            if fd is None:
                return None, index  # why there is none
            at = index.get(member)
            if at is None:
                return None, "no bytecode for this module"
            entry = files[member]  # (path, compression, compressed size, size, ..., crc)
            if (entry[7] & 0xFFFFFFFF, entry[3]) != at[2:]:
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
            path = archive + "/" + member
            code, why = self._bytecode(member)
            if code is not None:
                _imp._fix_co_filename(code, path)  # tracebacks name the file in the archive
                if verbose:
                    sys.stderr.write(f"# amzn-gd-doctor: {fullname} from bytecode\n")
                return code
            began = clock()
            source = reader.get_data(member).replace(b"\r\n", b"\n")
            code = compile(source, path, "exec", dont_inherit=True)
            self.compiled += clock() - began
            if verbose:
                sys.stderr.write(f"# amzn-gd-doctor: {fullname} compiled from source: {why}\n")
            return code

        def get_source(self, fullname):
            return util.decode_source(reader.get_data(self._member(fullname)))

        def is_package(self, fullname):
            return self._member(fullname).endswith("/__init__.py")

        def get_filename(self, fullname):
            return archive + "/" + self._member(fullname)

        def get_data(self, path):
            return reader.get_data(path)

        def get_resource_reader(self, fullname):
            folder = fullname.rpartition(".")[0].replace(".", "/")
            within = zipimport.zipimporter(archive + ("/" + folder if folder else ""))
            return within.get_resource_reader(fullname)  # 3.7 and later, as zipimport

    finders = sys.meta_path
    # Where zipimport's turn would come (sys.path[0] is this file): builtins go first as before.
    at = next((i for i, f in enumerate(finders) if f is PathFinder), len(finders))
    finders.insert(at, Importer())


_install()

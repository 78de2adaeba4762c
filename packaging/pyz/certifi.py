"""certifi, as the one-file build carries it.

requests asks ``certifi.where()`` for a CA bundle path when it is imported. The real certifi
would extract its cacert.pem from the zip into a temporary file that nothing removes, and the
doctor leaves no file behind. The doctor sends requests only to IMDS, over plain HTTP, so the
system's own bundle (the one OpenSSL was built to use) is named instead.
"""

import ssl


def where() -> str:
    paths = ssl.get_default_verify_paths()
    return paths.cafile or paths.openssl_cafile


def contents() -> str:
    with open(where(), encoding="ascii") as fh:
        return fh.read()

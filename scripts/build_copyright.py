"""Write packaging/copyright, the packages' machine-readable copyright file (Debian's
copyright-format 1.0): the doctor's own license, and the license of every project that the one
file carries inside it, with the license text read from that project's pinned wheel
(build/pyz-wheels, downloaded by scripts/build_pyz.py). The file is committed; the build checks
that it is current.

Usage: python3 scripts/build_copyright.py [--check] [--wheels DIR]
"""

import argparse
import sys
import zipfile
from pathlib import Path
from typing import Dict, List, NamedTuple

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "packaging" / "copyright"
FORMAT = "https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
MAINTAINERS = "amzn-gd-doctor maintainers <amzn-gd-doctor@users.noreply.github.com>"
# Debian ships the Apache license text; the copyright file refers to it rather than repeat it.
APACHE = (
    'Licensed under the Apache License, Version 2.0 (the "License"); you may not use this\n'
    "file except in compliance with the License. You may obtain a copy of the License at\n"
    "https://www.apache.org/licenses/LICENSE-2.0 (on Debian systems, the complete text is in\n"
    "/usr/share/common-licenses/Apache-2.0).\n"
    "Unless required by applicable law or agreed to in writing, software distributed under\n"
    'the License is distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY\n'
    "KIND, either express or implied."
)


class Bundled(NamedTuple):
    wheel: str  # the wheel's file name prefix in build/pyz-wheels
    members: str  # the members of the one file it provides
    copyright: str  # as the project states it (its LICENSE file or its sources)
    license: str  # SPDX short name


BUNDLED = [
    Bundled("typer-", "typer/*", "2019 Sebastián Ramírez", "MIT"),
    Bundled("click-", "click/*", "2014 Pallets", "BSD-3-Clause"),
    Bundled(
        "typing_extensions-",
        "typing_extensions.py",
        "2001-2022 Python Software Foundation",
        "PSF-2.0",
    ),
    Bundled("requests-", "requests/*", "2022 Kenneth Reitz", "Apache-2.0"),
    Bundled("urllib3-", "urllib3/*", "2008-2020 Andrey Petrov and contributors", "MIT"),
    Bundled("idna-", "idna/*", "2013-2021 Kim Davies", "BSD-3-Clause"),
    Bundled("charset_normalizer-", "charset_normalizer/*", "2019 TAHRI Ahmed R.", "MIT"),
    Bundled(
        "dnspython-",
        "dns/*",
        "Dnspython Contributors; 2001-2017 Nominum, Inc.; 2003-2007, 2009-2011 Nominum, Inc.",
        "ISC",
    ),
    Bundled("distro-", "distro/*", "2015-2017 Nir Cohen", "Apache-2.0"),
]


def license_text(wheels: Path, prefix: str) -> str:
    (wheel,) = sorted(wheels.glob(prefix + "*.whl"))
    with zipfile.ZipFile(str(wheel)) as zf:
        (name,) = [n for n in zf.namelist() if n.split("/")[-1].startswith("LICENSE")]
        return zf.read(name).decode("utf-8").strip()


def field(name: str, value: str) -> List[str]:
    """A field whose continuation lines start with a space, and blank lines are " ."."""
    first, *rest = value.split("\n")
    return [f"{name}: {first}".rstrip()] + [(" " + line) if line.strip() else " ." for line in rest]


def document(wheels: Path) -> str:
    paragraphs = [
        [
            f"Format: {FORMAT}",
            "Upstream-Name: amzn-gd-doctor",
            f"Upstream-Contact: {MAINTAINERS}",
            *field(
                "Comment",
                "/usr/bin/amzn-gd-doctor is a Python zip application. Besides the doctor's own\n"
                "code it carries the projects listed below, each under its own license; their\n"
                "Files fields name members of that zip file.",
            ),
        ],
        ["Files: *", "Copyright: 2026 amzn-gd-doctor maintainers", "License: Apache-2.0"],
    ]
    texts: Dict[str, str] = {"Apache-2.0": APACHE}
    for item in BUNDLED:
        paragraphs.append(
            [f"Files: {item.members}", f"Copyright: {item.copyright}", f"License: {item.license}"]
        )
        if item.license not in texts:
            texts[item.license] = license_text(wheels, item.wheel)
    for name, text in texts.items():
        paragraphs.append(field("License", name + "\n" + text))
    return "\n\n".join("\n".join(p) for p in paragraphs) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--wheels", type=Path, default=REPO / "build" / "pyz-wheels")
    args = parser.parse_args()
    text = document(args.wheels)
    if args.check:
        if OUT.read_text(encoding="utf-8") != text:
            sys.exit(f"{OUT} is not current: run python3 scripts/build_copyright.py")
        return
    OUT.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()

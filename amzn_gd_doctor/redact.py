"""Secrets masked out of every text the doctor shows or keeps, and optional pseudonyms for the
names that identify a host.

``mask`` replaces each secret it recognises with a marker naming its kind
(``[REDACTED:aws-secret-key]``). What it recognises is the catalogue in ``redact_kinds``: pattern
kinds (private key blocks, URL passwords, Authorization headers of every scheme, cookies, AWS
key ids, session tokens and signatures, vendor tokens, command-line and .netrc passwords, ...),
every one run on every text, and key kinds, the values of keys whose name holds a keyword, found
by ``_key_values`` here. It is idempotent, and linear in its input: every repetition in the
patterns is bounded or cannot overlap itself, so hostile text costs no backtracking.

The engine passes the whole report through ``report`` once, as it assembles it
(``doctor.run``), so every renderer shows masked text whatever its format.

``Pseudonymizer`` (``check --pseudonymize``) replaces account ids, instance ids and IP
addresses by pseudonyms that are the same for the same input within one run, different for
different inputs, keyed by a random salt per run, and keep their shape: ``i-`` and as many hex
digits, 12 digits, an RFC 1918 address stays in 10.0.0.0/8, any other IPv4 address goes to the
benchmarking range 198.18.0.0/15, IPv6 to the documentation prefix 2001:db8::/32. Loopback,
unspecified, link-local IPv4 (the IMDS 169.254.169.254, the Amazon DNS 169.254.169.253) and
the IPv6 IMDS/DNS/NTP addresses under fd00:ec2:: name no one and are kept.

Pure and stdlib only; needs no privilege.
"""

import os
import re
from typing import Any, Callable, Dict, List, Mapping, Match, Optional, Tuple, TypeVar, cast

from . import lazy_re
from .redact_kinds import KINDS, MAX_VALUE, NOT_MARKED, lower, marker
from .values import FIELDS, replace

T = TypeVar("T")

_UP_TO = "{1,%d}" % MAX_VALUE  # noqa: UP031  (an f-string would need every brace doubled)

# Key names whose value is a secret: the keyword with at most 40 name characters either side
# (DB_PASSWORD, client_secret, X-aws-ec2-metadata-token).
_KEYWORDS = (
    r"password|passwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key"
    r"|credentials?|activation[_-]?code|auth[_-]?key|session[_-]?key|key[_-]?data|pwd"
)
# Each keyword spelt out, found with str.find in the text lowered: PASSWORD, Password and
# password alike, at a fraction of the cost of any regular expression.
_KEYWORD_WORDS = tuple(
    sorted(
        {
            w
            for part in _KEYWORDS.split("|")
            for w in (part.replace("[_-]?", sep).replace("s?", "") for sep in ("_", "-", ""))
        }
    )
)
_KEY_RUN_RE = lazy_re.compile(r"[A-Za-z0-9_.-]*")
_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
# Name characters taken on either side of a keyword: DB_ADMIN_PASSWORD, client_secret_value.
MAX_KEY_AFFIX = 40
# What follows a key name: the separator, then a quoted or bare value.
_AFTER_KEY_RE = lazy_re.compile(
    r"(?P<sep>(?:\\{0,7}[\"'])?\s{0,5}(?:=>|=|:)\s{0,5}|[ \t]{1,5})"
    # JSON inside a JSON string (an SSM document's parameters), once or more: \"key\": \"value\"
    r"(?:(?P<esc>\\{1,7})\"(?P<eq>" + NOT_MARKED + r"[^\"\\\n]" + _UP_TO + r")(?P=esc)\""
    r"|\"(?P<dq>" + NOT_MARKED + r"[^\"\n]" + _UP_TO + r")\""
    r"|'(?P<sq>" + NOT_MARKED + r"[^'\n]" + _UP_TO + r")'"
    r"|(?P<bare>" + NOT_MARKED + r"(?!\\{1,7}\"\[REDACTED:)[^\s\"',;&<>]" + _UP_TO + "))"
)
# Key names that contain a keyword but hold no secret: where a secret is, how long it lives.
_HARMLESS_KEY_SUFFIXES = (
    "_file",
    "-file",
    "_path",
    "_dir",
    "_url",
    "_uri",
    "ttl",
    "ttl-seconds",
    "_ttl_seconds",
    "_type",
    "name",
    "keyid",
    "_id",
    "_arn",
    "_expiration",
    "_expiry",
    "expiration",
    "-id",
    "-path",
    "-dir",
    "-stdin",
    "-type",
)
# Keys that hold a keyword by chance: the shell's working folders.
_HARMLESS_KEYS = frozenset(("pwd", "oldpwd"))
_CAMEL_RE = lazy_re.compile(r"[a-z][A-Z]")
_HARMLESS_VALUES = frozenset(
    ("", "true", "false", "none", "null", "yes", "no", "required", "optional", "disabled")
)


def _key_kind(key: str) -> str:
    lowered = key.lower()
    if "metadata-token" in lowered or "metadata_token" in lowered:
        return "imds-token"
    if "secret" in lowered and ("access" in lowered or lowered.startswith("aws")):
        return "aws-secret-key"
    if "session" in lowered and "token" in lowered or "security_token" in lowered:
        return "aws-session-token"
    if "token" in lowered:
        return "token"
    if "secret" in lowered:
        return "secret"
    if "key" in lowered or "credential" in lowered or "code" in lowered:
        return "key"
    return "password"


def _key_values(text: str) -> str:
    """Values of keys that name a secret masked. The keyword is searched for, then the key
    name around it is widened by at most MAX_KEY_AFFIX characters either side: one pass over
    the text, where a regular expression starting at every name character would rescan each
    long word once per character."""
    out = []
    done = pos = 0
    for start, hit_end in _keyword_hits(text):
        if start < pos:
            continue
        run = _KEY_RUN_RE.match(text, hit_end)  # always matches, maybe empty
        end = run.end() if run else hit_end
        pos = end  # the rest of this word holds no other key
        if end - hit_end > MAX_KEY_AFFIX:
            continue  # a longer word than any key name
        floor = max(done, start - MAX_KEY_AFFIX)
        while start > floor and text[start - 1] in _KEY_CHARS:
            start -= 1
        if start > 0 and text[start - 1] in _KEY_CHARS:
            continue  # a longer word than any key name, or part of one already masked
        after = _AFTER_KEY_RE.match(text, end)
        if after is None:
            continue
        shown = _key_value(text, start, text[start:end], after)
        if shown is not None:
            out += [text[done:start], shown]
            done = pos = after.end()
    return "".join(out) + text[done:] if out else text


def _keyword_hits(text: str) -> "List[Tuple[int, int]]":
    """Where each keyword is, in order."""
    low = lower(text)
    hits = []
    for word in _KEYWORD_WORDS:
        at = low.find(word)
        while at >= 0:
            hits.append((at, at + len(word)))
            at = low.find(word, at + 1)
    hits.sort()
    return hits


def _key_value(text: str, start: int, key: str, after: "Match[str]") -> "Optional[str]":
    lowered = key.lower()
    value = after.group("eq") or after.group("dq") or after.group("sq") or after.group("bare") or ""
    if lowered.endswith(_HARMLESS_KEY_SUFFIXES) or value.lower() in _HARMLESS_VALUES:
        return None
    if lowered.lstrip("-") in _HARMLESS_KEYS or "pwd" in lowered and "_pwd" not in lowered:
        return None  # PWD, OLDPWD; only X_PWD (MYSQL_PWD) names a password
    # Only a command-line flag takes its value after white space (--password VALUE).
    if not after.group("sep").strip() and (not key.startswith("-") or value.startswith("-")):
        return None
    if value.startswith("$"):  # a shell reference ($TOKEN, $(curl ...)), not the secret
        return None
    quoted = any(after.group(g) is not None for g in ("eq", "dq", "sq"))
    if after.group("sep").strip(" \t\"'\\") == ":" and not _colon_pair(
        text, start, key, value, quoted
    ):
        return None
    kind = marker(_key_kind(key))
    if after.group("eq") is not None:
        kind = f'{after.group("esc")}"{kind}{after.group("esc")}"'
    elif after.group("dq") is not None:
        kind = f'"{kind}"'
    elif after.group("sq") is not None:
        kind = f"'{kind}'"
    return key + after.group("sep") + kind


def _colon_pair(text: str, start: int, key: str, value: str, quoted: bool) -> bool:
    """Whether ``key: value`` is a setting (YAML, an HTTP header, JSON) rather than prose or an
    error chain, which log lines are full of: ``error calling RequestManagedInstanceRoleToken:
    AccessDeniedException: ...``, ``Put "http://169.254.169.254/latest/api/token": dial tcp``."""
    before = text[start - 1] if start else "\n"
    if before in "\"'" or quoted:
        return True  # JSON or a quoted YAML value
    if before == "/" or value.endswith(":"):
        return False
    # camelCase: a YAML or JSON key (dbPassword:) where it starts lower-case or begins its
    # line; a Go error chain names PascalCase calls mid-line (CallToken: Exception: ...).
    return not _CAMEL_RE.search(key) or key[0].islower() or _starts_line(text, start)


def _starts_line(text: str, start: int) -> bool:
    """Whether a key begins its line (indented, or a YAML list item), as a camelCase YAML key
    does (``dbPassword: ...``) and an error chain's ``CallToken: Exception`` does not."""
    line = text.rfind("\n", 0, start) + 1
    return text[line:start].strip(" \t-#/") == "" or text[line:start].rstrip().endswith("{")


# -- proxies --------------------------------------------------------------------------------------
# The proxy variables, the one list of them: both agents are Go programs, whose HTTP client
# reads HTTPS_PROXY, HTTP_PROXY and NO_PROXY in either case; all_proxy is curl's and other
# tools', shown too so that a setting meant for the agent is not missed. Exact names only: an
# environment is case-sensitive, and a mixed-case name is read by no one.
PROXY_VARIABLES = (
    "https_proxy",
    "HTTPS_PROXY",
    "http_proxy",
    "HTTP_PROXY",
    "no_proxy",
    "NO_PROXY",
    "all_proxy",
    "ALL_PROXY",
)
PROXY_CREDENTIALS = "***"


def mask_proxy_credentials(url: str) -> str:
    """``http://user:p@ss/w0rd@proxy:3128`` -> ``http://***@proxy:3128``: everything between
    ``://`` and the last ``@``, since Go's URL parser, which both agents use, takes the last
    ``@`` before the host, so a password may hold ``@`` or ``/``. The one credential masker of
    proxy settings, wherever they are read (a process's environment, a unit's Environment=, a
    recording's environment)."""
    start = url.find("://")
    if start < 0:
        return url
    start += 3
    at = url.rfind("@", start)
    return url if at < 0 else url[:start] + PROXY_CREDENTIALS + url[at:]


def proxy_variables(env: "Mapping[str, str]") -> "Dict[str, str]":
    """The proxy variables of an environment, their credentials masked."""
    return {k: mask_proxy_credentials(v) for k, v in env.items() if k in PROXY_VARIABLES}


# All the kinds' patterns in one, to tell at once that a short text holds none of them (most of
# the strings of a report): exactly the union of the kinds, so it can never skip one.
_ANY_KIND = lazy_re.compile(
    "|".join(
        ("(?i:%s)" if kind.lowered else "(?:%s)") % kind.source.replace("(?P<s>", "(?:")
        for kind in KINDS
        if kind.source is not None
    )
)
# Longer texts go through each kind straight away: there the union, tried at every position,
# costs more than the kinds' own searches, which skip to their first characters.
UNION_MAX = 4096


def mask(text: str) -> str:
    """``text`` with every secret replaced by a marker of its kind:
    ``"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"`` ->
    ``"AWS_SECRET_ACCESS_KEY=[REDACTED:aws-secret-key]"``."""
    if len(text) > UNION_MAX or _ANY_KIND.search(text) is not None:
        lowered = None
        for kind in KINDS:  # every kind on every text: no needle decides which run
            if kind.lowered and lowered is None:
                lowered = lower(text)
            masked = kind.apply(text, lowered)
            if masked is not text:
                text, lowered = masked, None
    return _key_values(text)


def mask_bytes(data: bytes) -> bytes:
    """``mask`` over bytes: undecodable bytes go through unchanged (as lone surrogates)."""
    text = data.decode("utf-8", "surrogateescape")
    masked = mask(text)
    return data if masked == text else masked.encode("utf-8", "surrogateescape")


_ARN_ACCOUNT_RE = lazy_re.compile(
    r"(arn:aws[a-z-]{0,10}:[a-z0-9-]{0,40}:[a-z0-9-]{0,30}:)(\d{12})(?!\d)"
)
# After an account key, quoted or not, and in JSON held in a JSON string (an SSM state file
# keeps a plugin's output so: \"accountId\": \"123456789012\").
_KEYED_ACCOUNT_RE = lazy_re.compile(
    r"((?<![A-Za-z])(?:account|account[_ -]?id|accountId|owner[_-]?id|OwnerId)(?:\\{0,7}[\"'])?"
    r"\s{0,3}[:= ]\s{0,3}(?:\\{0,7}[\"'])?)(\d{12})(?!\d)",
    re.IGNORECASE,
)
_BARE_ACCOUNT_RE = lazy_re.compile(r"\d{12}")
_ECR_ACCOUNT_RE = lazy_re.compile(r"(?<![\d.])(\d{12})(\.dkr\.ecr\.)")
_INSTANCE_RE = lazy_re.compile(r"(?<![A-Za-z0-9-])(m?i-)([0-9a-f]{17}|[0-9a-f]{8})(?![A-Za-z0-9])")
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# Not after "v" or "version ": an agent version (3.3.40.0) looks like an address.
_IPV4_RE = lazy_re.compile(
    r"(?<![\w.])(?<!version )(?<!version=)(?<!version: )(" + _OCTET + r"(?:\." + _OCTET + "){3})"
    r"(?![\w]|\.\d)"
)
# A run of hex digits and colons with at least two colons; ipaddress decides if it is IPv6.
_IPV6_RE = lazy_re.compile(r"(?<![\w:.])((?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4})(?![\w:])")
# An IPv4 address inside an EC2 host name: ip-10-42-3-17(.ec2.internal),
# ec2-198-51-100-7.compute-1.amazonaws.com.
_HOST_IPV4_RE = lazy_re.compile(
    r"(?<![\w-])((?:ip|ec2)-)(" + _OCTET + r"(?:-" + _OCTET + r"){3})(?![\w-])"
)
_KEPT_IPV6 = frozenset(("::", "::1", "fd00:ec2::254", "fd00:ec2::253", "fd00:ec2::123"))


class Pseudonymizer:
    """Consistent pseudonyms for one run: ``pseudonymize(text)`` replaces account ids (in ARNs,
    after an account key, in ECR host names), instance ids and IP addresses. A pseudonym is an
    HMAC of the original under the run's salt, so the same original always gets the same one
    and nothing outside the run can map it back; a collision is moved to the next free one."""

    def __init__(self, salt: "Optional[bytes]" = None) -> None:
        self._salt = os.urandom(16) if salt is None else salt
        self._seen: Dict[Tuple[str, str], str] = {}
        self._used: Dict[str, str] = {}

    def _pick(self, kind: str, original: str, make: "Callable[[int], str]") -> str:
        known = self._seen.get((kind, original))
        if known is not None:
            return known
        import hashlib
        import hmac

        digest = hmac.new(self._salt, f"{kind}\0{original}".encode(), hashlib.sha256).digest()
        number = int.from_bytes(digest, "big")
        candidate = make(number)
        while candidate in self._used or candidate == original or (kind, candidate) in self._seen:
            number += 1
            candidate = make(number)
        self._seen[(kind, original)] = candidate
        self._used[candidate] = original
        return candidate

    def account(self, original: str) -> str:
        return self._pick("account", original, lambda n: f"{n % 10**12:012d}")

    def instance(self, prefix: str, digits: str) -> str:
        width = len(digits)
        return prefix + self._pick("instance", digits, lambda n: f"{n % 16**width:0{width}x}")

    def ipv4(self, original: str) -> str:
        octets = [int(part) for part in original.split(".")]
        if octets[0] in (0, 127, 255) or octets[:2] == [169, 254]:
            return original
        private = (
            octets[0] == 10
            or (octets[0] == 172 and 16 <= octets[1] < 32)
            or octets[:2] == [192, 168]
        )
        if private:
            return self._pick("ipv4", original, lambda n: "10.{}.{}.{}".format(*_bytes(n, 3)))
        return self._pick(
            "ipv4", original, lambda n: "198.{}.{}.{}".format(18 + n % 2, *_bytes(n >> 1, 2))
        )

    def _host_ipv4(self, dashed: str) -> str:
        """The pseudonym of the address a host name spells with dashes, spelt the same way:
        the same pseudonym as the dotted address gets."""
        return self.ipv4(dashed.replace("-", ".")).replace(".", "-")

    def ipv6(self, original: str) -> str:
        import ipaddress

        try:
            address = ipaddress.IPv6Address(original)
        except ValueError:
            return original
        if str(address) in _KEPT_IPV6 or address.is_loopback or address.is_unspecified:
            return original
        return self._pick(
            "ipv6",
            str(address),
            lambda n: str(ipaddress.IPv6Address((0x20010DB8 << 96) | (n % (1 << 96)))),
        )

    def pseudonymize(self, text: str) -> str:
        if _BARE_ACCOUNT_RE.fullmatch(text):
            return self.account(text)
        text = _ARN_ACCOUNT_RE.sub(lambda m: m.group(1) + self.account(m.group(2)), text)
        text = _KEYED_ACCOUNT_RE.sub(lambda m: m.group(1) + self.account(m.group(2)), text)
        text = _ECR_ACCOUNT_RE.sub(lambda m: self.account(m.group(1)) + m.group(2), text)
        text = _INSTANCE_RE.sub(lambda m: self.instance(m.group(1), m.group(2)), text)
        text = _IPV4_RE.sub(lambda m: self.ipv4(m.group(1)), text)
        text = _HOST_IPV4_RE.sub(lambda m: m.group(1) + self._host_ipv4(m.group(2)), text)
        if ":" in text:
            text = _IPV6_RE.sub(lambda m: self.ipv6(m.group(1)), text)
        return text


def _bytes(number: int, count: int) -> "Tuple[int, ...]":
    return tuple((number >> (8 * i)) & 0xFF for i in range(count))


# Fields of a value class that hold a secret as a bare value, which no pattern could tell from
# any other string: the IMDS session's token.
SECRET_FIELDS = frozenset(("token", "password", "secret", "session_token", "secret_access_key"))


def scrub(item: T, pseudonymizer: "Optional[Pseudonymizer]" = None) -> T:
    """``item`` with every string in it masked (and pseudonymized): strings, tuples, lists,
    dicts and value classes are walked; anything else (numbers, enums) is kept. What holds
    nothing to change is returned as is, the same object."""
    return cast(T, _scrub(item, pseudonymizer))


def _scrub(item: Any, pseudonymizer: "Optional[Pseudonymizer]") -> Any:
    if type(item) is str:  # a str-based enum is a name of the doctor's own, never host text
        out = mask(item)
        out = pseudonymizer.pseudonymize(out) if pseudonymizer is not None else out
        return item if out == item else out
    if type(item) in (tuple, list):
        items = [_scrub(v, pseudonymizer) for v in item]
        same = all(a is b for a, b in zip(items, item))
        return item if same else type(item)(items)
    if type(item) is dict:
        pairs = {k: _scrub(v, pseudonymizer) for k, v in item.items()}
        return item if all(pairs[k] is item[k] for k in item) else pairs
    names = getattr(type(item), FIELDS, None)
    if names is not None:
        changes = {}
        for name in names:
            old = item.__dict__[name]
            if name in SECRET_FIELDS and type(old) is str and old:
                changes[name] = marker(name.replace("_", "-"))
                continue
            new = _scrub(old, pseudonymizer)
            if new is not old:
                changes[name] = new
        return replace(item, **changes) if changes else item
    return item

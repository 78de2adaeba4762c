"""The catalogue of secrets ``redact.mask`` knows: each kind a named pattern, the marker label
it leaves (``[REDACTED:<label>]``), and positive and negative examples that double as tests
(tests/test_redact.py runs every kind's examples; docs/redaction.md is checked against it).

Two engines: a *pattern* kind is a regular expression run on every text (no needle gate), whose
group ``s`` (widened ``back`` characters to the left) is the secret; a *key* kind is found by
the key-name scanner of ``redact._key_values`` (``password=...``, ``"token": "..."``,
``--password VALUE``, ``dbPassword: ...``) and has no pattern of its own here.

Every pattern starts with a literal or a small set of characters, so that ``re``'s search skips
to its candidates; a look-behind comes after that first character. Case-insensitive words are
spelt ``[Aa][Uu]...`` (``ci``): ``re.IGNORECASE`` would defeat that skip. Every repetition is
bounded or cannot overlap its neighbour, so that hostile text costs no backtracking.

Pure and stdlib only; needs no privilege.
"""

import re
from typing import Any, Callable, Optional, Tuple

from . import lazy_re

# Longest secret value a pattern takes: a session token is about 1,000 characters; bounded so
# that a hostile line of one long word costs no more than this per match.
MAX_VALUE = 4096
_V = "{1,%d}" % MAX_VALUE  # noqa: UP031  (an f-string would need every brace doubled)
_V8 = "{8,%d}" % MAX_VALUE  # noqa: UP031


def marker(label: str) -> str:
    return f"[REDACTED:{label}]"


def ci(word: str) -> str:
    """``word`` in any case, one character class a letter (see the module docstring)."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in word)


_UPPER_RE = lazy_re.compile("[A-Z]+")


def lower(text: str) -> str:
    """``text`` in lower case, each character where it was: a case-insensitive kind is searched
    in it with case-sensitive literals, which ``re`` skips to (str.lower changes the length of
    a few characters, such as U+0130; then only ASCII letters are lowered)."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return _UPPER_RE.sub(lambda m: m.group(0).lower(), text)


# How a secret spread over lines is replaced: one marker a line, or one marker and its breaks.
EACH_LINE = "each line"
KEEP_BREAKS = "keep breaks"
# Not a value some earlier kind already masked.
NOT_MARKED = r"(?!\\?\[REDACTED:)"


class Kind:
    """One kind of secret. ``positives`` are (text, masked text) pairs; ``negatives`` texts
    that hold no secret of this kind and that ``mask`` must leave unchanged."""

    __slots__ = (
        "name",
        "label",
        "summary",
        "source",
        "regex",
        "back",
        "lines",
        "lowered",
        "span",
        "positives",
        "negatives",
    )

    def __init__(
        self,
        name: str,
        summary: str,
        positives: "Tuple[Tuple[str, str], ...]",
        negatives: "Tuple[str, ...]" = (),
        pattern: "Optional[str]" = None,
        label: "Optional[str]" = None,
        back: int = 0,
        lines: str = "",
        lowered: bool = False,
        span: "Optional[Callable[[Any], Optional[Tuple[int, int]]]]" = None,
    ) -> None:
        self.name = name
        self.label = label or name
        self.summary = summary
        if pattern is not None and lowered:
            # Searched in the text lowered: the marker it must not take again is lowered too.
            pattern = pattern.replace(r"\[REDACTED", r"\[redacted")
        self.source = pattern
        self.regex = lazy_re.compile(pattern) if pattern is not None else None
        self.lowered = lowered
        self.back = back
        self.lines = lines
        self.span = span
        self.positives = positives
        self.negatives = negatives

    def apply(self, text: str, lowered: "Optional[str]" = None) -> str:
        """``text`` with this kind's secrets replaced by its marker. A ``lowered`` kind is
        searched in ``lowered``, ``text`` in lower case with the same length."""
        if self.regex is None:
            return text
        out = []
        done = 0
        searched = text
        if self.lowered:
            searched = lower(text) if lowered is None else lowered
        for found in self.regex.finditer(searched):
            where = self.span(found) if self.span is not None else found.span("s")
            if where is None:
                continue
            start, end = where[0] - self.back, where[1]
            if start < done:
                continue
            out += [text[done:start], self._shown(text[start:end])]
            done = end
        if not out:
            return text
        out.append(text[done:])
        return "".join(out)

    def _shown(self, secret: str) -> str:
        shown = marker(self.label)
        if not self.lines:
            return shown
        # A masked log keeps its line count: one marker a line, or one marker and the breaks.
        if self.lines == KEEP_BREAKS:
            return shown + "".join(re.findall(r"\r?\n", secret))
        # A blank line inside the secret (a PGP block's after its armour headers) stays blank,
        # so that a masked log has the same blank lines as the log: a reader that skips them
        # (the agent's log probe) counts the same lines in both.
        parts = re.split(r"(\r?\n)", secret)  # line, break, line, ..., line
        return "".join(p if n % 2 or not p.strip() else shown for n, p in enumerate(parts))


# -- private key blocks ---------------------------------------------------------------------------
# A line break, real or escaped in a JSON string (an SSM document, a recorded environment).
_NL = r"(?:\r?\n|(?:\\{1,4}r)?\\{1,4}n)"
_PEM_LABEL = r"[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?"
# A line commented out (# ; // * > % !) or indented, as a config file or a YAML block holds it.
_PEM_PREFIX = r"[ \t]{0,16}(?:(?:#|//|;|\*|>|%|!)[ \t]{0,4})?"
_PEM_CHUNK = r"[A-Za-z0-9+/=]{1,512}"
# Where a line of the block may end: a line break, the END line, a closing quote, the text's end.
_PEM_EOL = r"(?=[ \t]{0,16}(?:\r|\n|\\{1,4}[rn]|-----END|[\"',}\]]|\Z))"
_PEM_LINE = (
    _PEM_PREFIX
    # An armour header (PGP's Version:/Comment:, PEM's Proc-Type:/DEK-Info:) or base64 chunks.
    + r"(?:[A-Za-z][A-Za-z0-9-]{0,40}:[ \t][^\r\n\\]{0,512}|"
    + _PEM_CHUNK
    + r"(?:[ \t]"
    + _PEM_CHUNK
    + r"){0,64}"
    + _PEM_EOL
    + ")"
)
_PEM_SEP = r"(?:(?:[ \t]{0,16}" + _NL + r"){1,3}|[ \t]{1,4})"
_PEM = (
    r"(?P<s>-----BEGIN"
    + _PEM_LABEL
    + "-----(?:"
    + _PEM_SEP
    + _PEM_LINE
    + r"){0,256}(?:(?:"
    + _PEM_SEP
    + ")?"
    + _PEM_PREFIX
    + "-----END"
    + _PEM_LABEL
    + "-----)?)"
)
_PUTTY = (
    r"Private-Lines:[ \t]{0,4}\d{1,4}"
    + _NL
    + r"(?P<s>[A-Za-z0-9+/=]{1,512}(?:"
    + _NL
    + r"[A-Za-z0-9+/=]{1,512}){0,255})(?=[ \t]{0,16}(?:\r|\n|\\{1,4}[rn]|\Z))"
)

# -- AWS ------------------------------------------------------------------------------------------
_AKID_UPPER = "KIA|SIA|BIA|CCA|GPA|IDA|IPA|NPA|NVA|PKA|ROA|3T[A-Z0-9]"
# An access key id cut by a line break (a wrapped log line, a shell continuation, a JSON \n).
_BREAK = r"(?:\\?\r?\n|\\{1,4}n)[ \t]{0,8}"


def _split16(chars: str) -> str:
    """16 of ``chars``, whole or cut once by a line break."""
    cut = "|".join(f"{chars}{{{k}}}{_BREAK}{chars}{{{16 - k}}}" for k in range(1, 16))
    return f"(?:{chars}{{16}}|{cut})"


_ACCESS_KEY = (
    r"(?P<s>A(?:"
    + _AKID_UPPER
    + r")(?<![A-Za-z0-9]....)"
    + _split16("[A-Z0-9]")
    + "|a(?:"
    + _AKID_UPPER.lower()
    + r")(?<![A-Za-z0-9]....)(?=[a-z]{0,15}[0-9])"
    + _split16("[a-z0-9]")
    + r")(?![A-Za-z0-9])"
)
# A credentials.csv row (``alice,AKIA...,wJalr...``) or any secret key right after its key id,
# which the access key kind has masked by then.
_CSV_SECRET = (
    r"\[REDACTED:aws-access-key-id\][ \t]{0,3}[,;|\t:][ \t]{0,3}[\"']?"
    r"(?P<s>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
)
_CONFIGURE_SET = (
    r"configure(?<=[Aa][Ww][Ss][ \t]configure)[ \t]{1,5}set[ \t]{1,5}"
    r"(?:--profile[ \t=]{1,5}\S{1,64}[ \t]{1,5})?"
    r"[A-Za-z0-9_.-]{0,80}(?:secret|token|password)[A-Za-z0-9_.-]{0,40}[ \t]{1,5}"
    + NOT_MARKED
    + r"(?P<s>[^\s'\"]{1,4096}|'[^'\n]{1,4096}'|\"[^\"\n]{1,4096}\")"
)
# STS session tokens start with the base64 of their own header: a length byte, then
# "\n\torigin" (today's), "\n\x06er/aws" or "\n\x03aws" (older ones), so the first character
# varies and the second is one of four. Found by the literal after them, widened back by two.
_SESSION_TOKEN = (
    r"(?P<s>o(?<=(?<![A-Za-z0-9+/])[A-Za-z0-9+/][AQgw]o)(?:Jb3JpZ2lu|GZXIvYXdz|DYXdz)"
    r"[A-Za-z0-9+/=%]" + _V8 + ")"
)
# AWS writes these query parameters in this case only.
_SIGV4_QUERY = r"X-Amz-Signature=" + NOT_MARKED + r"(?P<s>[0-9a-fA-F]{16,128})(?![0-9a-fA-F])"
_SECURITY_TOKEN_QUERY = (
    r"X-Amz-Security-Token=" + NOT_MARKED + r"(?P<s>[A-Za-z0-9%+/=_.-]" + _V + ")"
)

# -- URLs -----------------------------------------------------------------------------------------
# scheme://user:password@host. Found at its "://"; the user is kept.
_URL = (
    r"://(?<=[A-Za-z0-9+.-]://)[^\s:/@\"'<>\[\]\\]{0,256}:"
    + NOT_MARKED
    + r"(?P<s>[^\s\x00\"'<>\\]"
    + _V
    + ")"
)


_HOST_RE = lazy_re.compile(
    r"(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?(?![@A-Za-z0-9_])"
)


def _url_password(found: Any) -> "Optional[Tuple[int, int]]":
    """The password of a URL's userinfo. Go's URL parser (which both agents use) ends it at the
    last @ before the host, so a password may hold @; one holding / is masked too, up to the
    last @ of the word that a host follows. What precedes the first / is a port and no
    password when it is digits (``http://host:8080/a@b``)."""
    rest = found.group("s")
    start = found.start("s")
    slash = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    if rest.rfind("@", 0, slash) < 0 and (rest[:slash].isdigit() or not rest[:slash]):
        return None
    at = len(rest)
    while True:
        at = rest.rfind("@", 0, at)
        if at <= 0:
            return None
        if _HOST_RE.match(rest, at + 1):
            return (start, start + at)


_SLACK_WEBHOOK = r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[A-Za-z0-9_+/-]{20,400})"
_AZURE_SAS = r"sig=(?<=[?&]sig=)" + NOT_MARKED + r"(?P<s>[A-Za-z0-9%+/=]{16,400})"

# -- headers --------------------------------------------------------------------------------------
# Authorization and Proxy-Authorization in any case, any scheme (Bearer, Basic, Digest,
# Negotiate, NTLM, AWS, AWS4-HMAC-SHA256, ...): the scheme is kept, the credentials masked,
# with their ``name=value`` pairs (Digest, SigV4) up to the line's end.
_PAIR = r"[A-Za-z][A-Za-z0-9_-]{0,30}=(?:\"[^\"\r\n]{0,512}\"|[^\s\"',\]]{0,4096})"
# Words an Authorization line holds in prose or documentation, not credentials.
_NOT_CREDENTIALS = (
    "(?!(?:"
    + "|".join(
        ci(w)
        for w in ("required", "optional", "none", "null", "missing", "denied", "failed", "header")
    )
    + r")(?![A-Za-z0-9]))"
)
_AUTHORIZATION = (
    "authorization"
    + r"(?:\\?[\"'])?[ \t]{0,5}[:=][ \t]{0,5}(?:\\?[\"'])?"
    + NOT_MARKED
    + r"\[?"
    + r"(?:(?!\[REDACTED)[A-Za-z][A-Za-z0-9_.-]{0,30}[ \t]{1,5}(?![ \t]))?"
    + NOT_MARKED
    # Nor the scheme of a header already masked (``Bearer [REDACTED:...]``).
    + r"(?![A-Za-z][A-Za-z0-9_.-]{0,30}[ \t]{1,5}\\?\[REDACTED:)"
    + _NOT_CREDENTIALS
    + r"(?P<s>(?:"
    + _PAIR
    + r"|[^\s\"',;\]\\]"
    + _V
    + r")(?:,[ \t]{0,3}"
    + _PAIR
    + "){0,16})"
)
# "Bearer <token>" outside a header; the token holds a digit, so prose ("bearer authentication")
# stays.
_BEARER = (
    r"b(?<![a-z0-9_-].)earer[ \t]{1,5}"
    + NOT_MARKED
    + r"(?=[A-Za-z._~+/-]{0,200}[0-9])(?P<s>[A-Za-z0-9._~+/-]"
    + _V8
    + "=*)"
)
_NEGOTIATE = r"negotiate[ \t]{1,5}" + NOT_MARKED + r"(?P<s>[A-Za-z0-9+/]{20,4096}={0,2})"
# An NTLM message anywhere: the base64 of "NTLMSSP\0".
_NTLM = r"(?P<s>TlRMTVNTUA[A-Za-z0-9+/]{8,4096}={0,2})"
_COOKIE = (
    r"c(?<![a-z0-9_].)ookie"
    + r"2?(?:\\?[\"'])?[ \t]{0,5}:[ \t]{0,5}(?:\\?[\"'])?"
    + NOT_MARKED
    + r"\[?"
    + NOT_MARKED
    + r"(?P<s>[^\s\"'\]\\][^\r\n\"'\]\\]{0,4096})"
)
_JWT = (
    r"(?P<s>eyJ(?<![A-Za-z0-9_-]...)[A-Za-z0-9_-]{5,4096}\.eyJ[A-Za-z0-9_-]{5,4096}"
    r"\.(?:[A-Za-z0-9_-]" + _V + ")?)"
)
# Docker's config.json: "auth": "<base64 of user:password>" (and JSON inside a JSON string).
_DOCKER_AUTH = (
    r"auth(?<=\"auth)\\?\"[ \t]{0,5}:[ \t]{0,5}\\?\""
    + NOT_MARKED
    + r"(?P<s>[A-Za-z0-9+/=]{8,4096})"
)
_AZURE_KEY = (
    r"key(?:(?<=accountkey)|(?<=sharedaccesskey))[ \t]{0,3}=[ \t]{0,3}"
    + NOT_MARKED
    + r"(?P<s>[A-Za-z0-9+/]{20,400}={0,2})"
)

# -- command lines and files ----------------------------------------------------------------------
_QUOTED_OR_WORD = r"(?P<s>'[^'\n]{1,4096}'|\"[^\"\n]{1,4096}\"|[^\s'\"]{1,4096})"
_SSHPASS = r"sshpass[ \t]{1,5}-p[ \t]{0,5}" + NOT_MARKED + _QUOTED_OR_WORD
_CURL_USER = (
    r"curl[ \t](?:(?!\[REDACTED:)[^\n|;&]){0,400}?(?:-u|--user|--proxy-user)[ \t=]{1,5}"
    r"['\"]?[^\s:'\"]{1,256}:" + NOT_MARKED + r"(?P<s>[^\s'\"]{1,4096})"
)
_MYSQL_P = (
    r"mysql(?:dump|admin|import|sh)?(?=[ \t])(?:(?!\[REDACTED:)[^\n|;&]){0,400}?[ \t]-p"
    + NOT_MARKED
    + r"(?P<s>[^\s\-'\"][^\s'\"]{0,4096}|'[^'\n]{1,4096}'|\"[^\"\n]{1,4096}\")"
)
# ~/.netrc: machine HOST login USER password SECRET, on one line or several.
_NETRC = (
    r"(?:machine[ \t]{1,5}[^\s]{1,256}|default)(?:\s{1,5}(?:login|account|port|protocol)"
    r"[ \t]{1,5}[^\s]{1,256}){0,4}\s{1,5}password[ \t]{1,5}"
    + NOT_MARKED
    # A quoted password (curl reads quoted netrc tokens), or a word up to a quote: a netrc
    # line inside a JSON string (a command's output in an SSM state file) keeps its closing
    # quote, so the masked JSON still parses.
    + r"(?P<s>\"[^\"\n]{1,4096}\"|[^\s\"]{1,4096})"
)
# A crypt(3) password hash (shadow, htpasswd): its salt and hash.
_PASSWORD_HASH = (
    r"\$(?:[156]\$(?:rounds=\d{1,9}\$)?|apr1\$|2[abxy]?\$\d\d\$|y\$[./A-Za-z0-9]{1,10}\$)"
    r"(?P<s>[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{22,86}|[./A-Za-z0-9]{53})(?![./A-Za-z0-9])"
)


def _token(prefix: str, body: str) -> str:
    """A vendor token as a whole word: a literal prefix, then its body. The look-behind comes
    after the prefix's first character, so that the search skips to that character."""
    first = re.match(r"\[[^\]]*\]|\\.|.", prefix)
    assert first is not None
    head, rest = prefix[: first.end()], prefix[first.end() :]
    return r"(?P<s>" + head + r"(?<![A-Za-z0-9_-].)" + rest + body + r")(?![A-Za-z0-9_-])"


# The catalogue, in the order the kinds run: blocks first, then what holds other kinds (an
# Authorization header holds an access key id, a URL a token), then token shapes, then the
# access key id and what follows it. Key kinds are run last, by ``redact._key_values``.
KINDS: "Tuple[Kind, ...]" = (
    Kind(
        "private-key",
        "PEM and PGP private key blocks (RSA, EC, DSA, OPENSSH, PKCS#8, encrypted), with armour"
        " headers, commented out or indented line by line, on one line, JSON-escaped or cut "
        "short; one marker a line",
        (
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAu1SU1L\n"
                "-----END RSA PRIVATE KEY-----\nnext",
                "[REDACTED:private-key]\n" * 3 + "next",
            ),
            (
                "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n"
                "Comment: Alice's key (work)\n\nlQOYBF0e1FYBCAC7\n=Ab1c\n"
                "-----END PGP PRIVATE KEY BLOCK-----",
                "\n".join(["[REDACTED:private-key]"] * 3 + [""] + ["[REDACTED:private-key]"] * 3),
            ),
            (
                "# -----BEGIN OPENSSH PRIVATE KEY-----\n# b3BlbnNzaC1rZXkt\n"
                "# -----END OPENSSH PRIVATE KEY-----\nHost x",
                "# " + "\n".join(["[REDACTED:private-key]"] * 3) + "\nHost x",
            ),
            (
                'key="-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg\\n-----END PRIVATE KEY-----"',
                'key="[REDACTED:private-key]"',
            ),
            (
                # Escaped twice: JSON held in a JSON string (an SSM state document's output).
                '"-----BEGIN PRIVATE KEY-----\\\\nMIIEvQIBADANBg\\\\n-----END PRIVATE KEY-----"',
                '"[REDACTED:private-key]"',
            ),
            (
                "-----BEGIN EC PRIVATE KEY----- MHcCAQEEIBv kZz= -----END EC PRIVATE KEY-----",
                "[REDACTED:private-key]",
            ),
            (
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHzBJBgkqhkiG9w0BBQ0wPDAb",
                "[REDACTED:private-key]\n[REDACTED:private-key]",
            ),
        ),
        (
            "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIE\n-----END CERTIFICATE-----",
            "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYI\n-----END PUBLIC KEY-----",
        ),
        pattern=_PEM,
        lines=EACH_LINE,
    ),
    Kind(
        "putty-private-key",
        "the private lines of a PuTTY .ppk key",
        (
            (
                "Private-Lines: 2\nAAABAQCx9k2\nAAAAgQDs\nPrivate-MAC: 1a2b",
                "Private-Lines: 2\n[REDACTED:private-key]\n[REDACTED:private-key]\n"
                "Private-MAC: 1a2b",
            ),
        ),
        ("Public-Lines: 6",),
        pattern=_PUTTY,
        label="private-key",
        lines=EACH_LINE,
    ),
    Kind(
        "url-password",
        "the password of a URL's userinfo, up to the last @ before the host as Go reads it "
        "(so it may hold @ or /), in any scheme and in proxy settings",
        (
            (
                "https://bob:pa55w0rd@example.com/x",
                "https://bob:[REDACTED:url-password]@example.com/x",
            ),
            (
                "HTTPS_PROXY=http://u:p@ss/w0rd@10.0.0.5:3128",
                "HTTPS_PROXY=http://u:[REDACTED:url-password]@10.0.0.5:3128",
            ),
            (
                "mongodb+srv://app:s/cr@t@db.example.net",
                "mongodb+srv://app:[REDACTED:url-password]@db.example.net",
            ),
        ),
        (
            "http://10.0.0.5:3128",
            "https://guardduty-data.us-east-1.amazonaws.com:443/",
            "http://host:8080/path?mail=a@b.example",
            "https://user@example.com/",
        ),
        pattern=_URL,
        span=_url_password,
    ),
    Kind(
        "authorization",
        "Authorization and Proxy-Authorization headers in any case and any scheme (Bearer, "
        "Basic, Digest, Negotiate, NTLM, AWS, AWS4-HMAC-SHA256, ...); the scheme is kept",
        (
            ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer [REDACTED:authorization]"),
            ("authorization: basic dXNlcjpwYXNz", "authorization: basic [REDACTED:authorization]"),
            (
                "Authorization: Negotiate YIIGhgYGKwYBBQUC",
                "Authorization: Negotiate [REDACTED:authorization]",
            ),
            (
                "AUTHORIZATION: NTLM TlRMTVNTUAABAAAA",
                "AUTHORIZATION: NTLM [REDACTED:authorization]",
            ),
            (
                "Authorization: AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=",
                "Authorization: AWS [REDACTED:authorization]",
            ),
            (
                "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/"
                "us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=fe5f80f77d5f",
                "Authorization: AWS4-HMAC-SHA256 [REDACTED:authorization]",
            ),
            (
                'Proxy-Authorization: Digest username="bob", response="6629fae4939"',
                "Proxy-Authorization: Digest [REDACTED:authorization]",
            ),
            (
                '{"authorization": "Token abc123"}',
                '{"authorization": "Token [REDACTED:authorization]"}',
            ),
        ),
        ("Authorization failed for user bob", "authorization: required"),
        pattern=_AUTHORIZATION,
        lowered=True,
    ),
    Kind(
        "bearer-token",
        "a bearer token outside a header (``Bearer <token>``; a token holds a digit)",
        (
            (
                "sent Bearer abcdefgh12345678 upstream",
                "sent Bearer [REDACTED:bearer-token] upstream",
            ),
        ),
        ("the bearer authentication failed", "Bearer token expired"),
        pattern=_BEARER,
        lowered=True,
    ),
    Kind(
        "negotiate-token",
        "a SPNEGO/Kerberos token after ``Negotiate``",
        (
            (
                "WWW-Authenticate: Negotiate oYG3MIG0oAMKAQChCwYJ",
                "WWW-Authenticate: Negotiate [REDACTED:negotiate-token]",
            ),
        ),
        ("negotiate failed with the proxy",),
        pattern=_NEGOTIATE,
        lowered=True,
    ),
    Kind(
        "ntlm-token",
        "an NTLM message (base64 of ``NTLMSSP``) anywhere",
        (("got TlRMTVNTUAACAAAADAAMADAAAAA from proxy", "got [REDACTED:ntlm-token] from proxy"),),
        ("NTLM authentication is not supported",),
        pattern=_NTLM,
    ),
    Kind(
        "cookie",
        "Cookie and Set-Cookie header values, in any case",
        (
            ("Cookie: session=a3fWa; theme=light", "Cookie: [REDACTED:cookie]"),
            (
                "set-cookie: id=a3fWa; Expires=Wed, 21 Oct 2025 07:28:00 GMT",
                "set-cookie: [REDACTED:cookie]",
            ),
        ),
        ("http: named cookie not present", "cookie jar is empty"),
        pattern=_COOKIE,
        lowered=True,
    ),
    Kind(
        "slack-webhook",
        "the path of a Slack incoming webhook URL",
        (
            (
                "https://hooks.slack.com/services/T0123ABCD/B0123ABCD/XXXXxxxxXXXXxxxxXXXXxxxx",
                "https://hooks.slack.com/services/[REDACTED:slack-webhook]",
            ),
        ),
        ("https://hooks.slack.com/",),
        pattern=_SLACK_WEBHOOK,
    ),
    Kind(
        "aws-presigned-signature",
        "the X-Amz-Signature of an S3 presigned URL",
        (
            (
                "https://b.s3.amazonaws.com/k?X-Amz-Signature=fe5f80f77d5fa3beca038a248ff027d0"
                "445342fe2855ddc963176630326f1024",
                "https://b.s3.amazonaws.com/k?X-Amz-Signature=[REDACTED:aws-presigned-signature]",
            ),
        ),
        ("X-Amz-SignedHeaders=host",),
        pattern=_SIGV4_QUERY,
    ),
    Kind(
        "aws-security-token-query",
        "the X-Amz-Security-Token of a presigned URL",
        (
            (
                "?X-Amz-Security-Token=FwoGZXIvYXdzEBYa%2Fabc&x=1",
                "?X-Amz-Security-Token=[REDACTED:aws-session-token]&x=1",
            ),
        ),
        (),
        pattern=_SECURITY_TOKEN_QUERY,
        label="aws-session-token",
    ),
    Kind(
        "azure-sas-signature",
        "the sig= of an Azure shared access signature",
        (
            (
                "https://a.blob.core.windows.net/c?sv=2022-11-02&sig=Z3Vlc3MlMkZtZSUzRA%3D%3D",
                "https://a.blob.core.windows.net/c?sv=2022-11-02&sig=[REDACTED:azure-sas-signature]",
            ),
        ),
        ("?sig=short",),
        pattern=_AZURE_SAS,
    ),
    Kind(
        "azure-storage-key",
        "AccountKey= and SharedAccessKey= of an Azure connection string",
        (
            (
                "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDX"
                "J1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq==;EndpointSuffix=core.windows.net",
                "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=[REDACTED:azure-storage-key];"
                "EndpointSuffix=core.windows.net",
            ),
            (
                "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=R;SharedAccessKey=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG=",
                "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=R;SharedAccessKey=[REDACTED:azure-storage-key]",
            ),
        ),
        ("AccountName=guardduty",),
        pattern=_AZURE_KEY,
        lowered=True,
    ),
    Kind(
        "docker-auth",
        'the "auth" of a Docker config.json (base64 of user:password)',
        (
            (
                '{"auths": {"r.io": {"auth": "dXNlcjpwYXNzd29yZA=="}}}',
                '{"auths": {"r.io": {"auth": "[REDACTED:docker-auth]"}}}',
            ),
        ),
        ('{"auth": "none"}',),
        pattern=_DOCKER_AUTH,
    ),
    Kind(
        "jwt",
        "JSON web tokens (header.payload.signature)",
        (
            (
                "id_token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.SflKxwRJSMeKKF2QT4fw end",
                "id_token [REDACTED:jwt] end",
            ),
        ),
        ("eyJhbGciOiJIUzI1NiJ9 alone",),
        pattern=_JWT,
    ),
    Kind(
        "aws-session-token",
        "STS session tokens by their own prefix (IQoJb3JpZ2lu and the older FwoGZXIvYXdz, "
        "FQoDYXdz, AQoDYXdz, ...), whatever key they sit under",
        (
            (
                "token in a message IQoJb3JpZ2luX2VjEHYaCXVzLWVhc3QtMSJG here",
                "token in a message [REDACTED:aws-session-token] here",
            ),
            ("FQoDYXdzEPT//////////wEaDGR2bWVudGVzdA== old", "[REDACTED:aws-session-token] old"),
            ("AQoDYXdzEJr1K2Ffake0123456789 older", "[REDACTED:aws-session-token] older"),
        ),
        ("xIQoJb3JpZ2lu", "origin=IQoJ"),
        pattern=_SESSION_TOKEN,
        back=2,
    ),
    Kind(
        "github-token",
        "GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_)",
        (("gh token ghp_" + "a1B2" * 9 + " used", "gh token [REDACTED:github-token] used"),),
        ("ghp_short",),
        pattern=_token("gh[pousr]_", "[A-Za-z0-9]{36,255}"),
    ),
    Kind(
        "github-pat",
        "GitHub fine-grained personal access tokens (github_pat_)",
        (("github_pat_11ABCDEFG0123456789_abcdefghijABCDEFGHIJ", "[REDACTED:github-pat]"),),
        ("github_pat_",),
        pattern=_token("github_pat_", "[A-Za-z0-9_]{22,255}"),
    ),
    Kind(
        "gitlab-token",
        "GitLab tokens (glpat-, glptt-, gldt-, glrt-, ...)",
        (("PRIVATE-TOKEN glpat-xXz1AbCdEfGhIjKlMnOp", "PRIVATE-TOKEN [REDACTED:gitlab-token]"),),
        (),
        pattern=_token("gl(?:pat|ptt|dt|rt|cbt|soat|ft)-", "[A-Za-z0-9_-]{20,255}"),
    ),
    Kind(
        "slack-token",
        "Slack tokens (xoxb-, xoxp-, xoxa-, xoxe-, xapp-, ...)",
        (("slack xoxb-1234567890-abcdefghij", "slack [REDACTED:slack-token]"),),
        ("xoxb-",),
        pattern=_token("xox[abposre]-", "[A-Za-z0-9-]{10,250}"),
    ),
    Kind(
        "slack-app-token",
        "Slack app-level tokens (xapp-)",
        (("xapp-1-A0123ABCD-1234567890-abcdef0123456789", "[REDACTED:slack-token]"),),
        (),
        pattern=_token("xapp-", r"\d-[A-Za-z0-9-]{10,250}"),
        label="slack-token",
    ),
    Kind(
        "google-api-key",
        "Google API keys (AIza)",
        (("key=AIzaSyA1234567890abcdefghijklmnopqrstuv", "key=[REDACTED:google-api-key]"),),
        ("AIzaShort",),
        pattern=_token("AIza", "[0-9A-Za-z_-]{35}"),
    ),
    Kind(
        "google-oauth-secret",
        "Google OAuth client secrets (GOCSPX-)",
        (("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", "[REDACTED:google-oauth-secret]"),),
        (),
        pattern=_token("GOCSPX-", "[A-Za-z0-9_-]{28}"),
    ),
    Kind(
        "stripe-key",
        "Stripe secret and restricted keys (sk_live_, rk_live_, sk_test_)",
        (("stripe sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "stripe [REDACTED:stripe-key]"),),
        ("sk_live_",),
        pattern=_token("[sr]k_(?:live|test)_", "[0-9A-Za-z]{24,99}"),
    ),
    Kind(
        "npm-token",
        "npm access tokens (npm_)",
        (
            (
                "//registry.npmjs.org/:_authToken=npm_" + "a" * 36,
                "//registry.npmjs.org/:_authToken=[REDACTED:npm-token]",
            ),
        ),
        ("npm_config_cache=/tmp",),
        pattern=_token("npm_", "[A-Za-z0-9]{36}"),
    ),
    Kind(
        "pypi-token",
        "PyPI upload tokens (pypi-AgEIcHlwaS5vcmc...)",
        (("pypi-AgEIcHlwaS5vcmc" + "x1" * 30, "[REDACTED:pypi-token]"),),
        (),
        pattern=_token("pypi-AgEIcHlwaS5vcmc", "[A-Za-z0-9_-]{50,300}"),
    ),
    Kind(
        "vault-token",
        "HashiCorp Vault tokens (hvs., hvb., hvr.)",
        (
            (
                "VAULT_TOKEN=hvs.CAESIJ1aBcDeFgHiJkLmNoPqRsTuVwXyZ012",
                "VAULT_TOKEN=[REDACTED:vault-token]",
            ),
        ),
        ("hvs.short",),
        pattern=_token(r"hv[sbr]\.", "[A-Za-z0-9_-]{24,400}"),
    ),
    Kind(
        "openai-key",
        "OpenAI API keys (sk-proj-, sk-...T3BlbkFJ...)",
        (("sk-proj-" + "Ab1_" * 12, "[REDACTED:openai-key]"),),
        ("sk-1",),
        pattern=_token(
            "sk-",
            "(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,300}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})",
        ),
    ),
    Kind(
        "anthropic-key",
        "Anthropic API keys (sk-ant-)",
        (("sk-ant-api03-" + "aB3-" * 22, "[REDACTED:anthropic-key]"),),
        (),
        pattern=_token("sk-ant-", r"(?:api|admin)\d\d-[A-Za-z0-9_-]{80,200}"),
    ),
    Kind(
        "sendgrid-key",
        "SendGrid API keys (SG.)",
        (("SG." + "a" * 22 + "." + "b" * 43, "[REDACTED:sendgrid-key]"),),
        ("SG.example",),
        pattern=_token(r"SG\.", r"[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}"),
    ),
    Kind(
        "digitalocean-token",
        "DigitalOcean tokens (dop_v1_, doo_v1_, dor_v1_)",
        (("dop_v1_" + "0a" * 32, "[REDACTED:digitalocean-token]"),),
        (),
        pattern=_token("do[por]_v1_", "[a-f0-9]{64}"),
    ),
    Kind(
        "shopify-token",
        "Shopify tokens (shpat_, shpca_, shppa_, shpss_)",
        (("shpat_" + "0a1B" * 8, "[REDACTED:shopify-token]"),),
        (),
        pattern=_token("shp(?:at|ca|pa|ss)_", "[a-fA-F0-9]{32}"),
    ),
    Kind(
        "huggingface-token",
        "Hugging Face tokens (hf_)",
        (("HF_TOKEN hf_" + "abcDEF" * 5 + "ghij", "HF_TOKEN [REDACTED:huggingface-token]"),),
        ("hf_transfer",),
        pattern=_token("hf_", "[A-Za-z]{34}"),
    ),
    Kind(
        "dockerhub-token",
        "Docker Hub personal access tokens (dckr_pat_)",
        (("dckr_pat_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N", "[REDACTED:dockerhub-token]"),),
        (),
        pattern=_token("dckr_pat_", "[A-Za-z0-9_-]{27,64}"),
    ),
    Kind(
        "databricks-token",
        "Databricks tokens (dapi)",
        (("dapi" + "0123456789abcdef" * 2, "[REDACTED:databricks-token]"),),
        ("dapi",),
        pattern=_token("dapi", r"[a-f0-9]{32}(?:-\d)?"),
    ),
    Kind(
        "newrelic-key",
        "New Relic user API keys (NRAK-)",
        (("NRAK-" + "A1B2C3D4E5F6G7H8I9J0K1L2M3N", "[REDACTED:newrelic-key]"),),
        (),
        pattern=_token("NRAK-", "[A-Z0-9]{27}"),
    ),
    Kind(
        "postman-key",
        "Postman API keys (PMAK-)",
        (("PMAK-" + "0a" * 12 + "-" + "1b" * 17, "[REDACTED:postman-key]"),),
        (),
        pattern=_token("PMAK-", "[a-f0-9]{24}-[a-f0-9]{34}"),
    ),
    Kind(
        "grafana-token",
        "Grafana service account and cloud tokens (glsa_, glc_)",
        (("glsa_" + "aB3d" * 8 + "_0a1b2c3d", "[REDACTED:grafana-token]"),),
        (),
        pattern=_token("gl(?:sa|c)_", "[A-Za-z0-9+/_]{32,400}={0,2}"),
    ),
    Kind(
        "atlassian-token",
        "Atlassian API tokens (ATATT3)",
        (("ATATT3" + "xFfGF0" * 30, "[REDACTED:atlassian-token]"),),
        (),
        pattern=_token("ATATT3", "[A-Za-z0-9_=-]{150,300}"),
    ),
    Kind(
        "terraform-token",
        "Terraform Cloud tokens (<14>.atlasv1.<60+>)",
        (("abcdefghij1234.atlasv1." + "x1Y2" * 16, "[REDACTED:terraform-token]"),),
        (),
        pattern=r"(?P<s>\.atlasv1\.(?<=(?<![A-Za-z0-9])[A-Za-z0-9]{14}\.atlasv1\.)[A-Za-z0-9_-]{60,300})",
        back=14,
    ),
    Kind(
        "age-secret-key",
        "age encryption secret keys (AGE-SECRET-KEY-1)",
        (
            (
                "AGE-SECRET-KEY-1" + "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L" + "Q" * 26,
                "[REDACTED:age-secret-key]",
            ),
        ),
        (),
        pattern=_token("AGE-SECRET-KEY-1", "[0-9A-Z]{58}"),
    ),
    Kind(
        "alibaba-key-id",
        "Alibaba Cloud access key ids (LTAI)",
        (("LTAI" + "5tB9xYzAbCdEfGhIjKlMn", "[REDACTED:alibaba-key-id]"),),
        (),
        pattern=_token("LTAI", "[A-Za-z0-9]{17,21}"),
    ),
    Kind(
        "square-token",
        "Square access tokens and OAuth secrets (sq0atp-, sq0csp-)",
        (("sq0atp-" + "a1B2c3D4e5F6g7H8i9J0kL", "[REDACTED:square-token]"),),
        (),
        pattern=_token("sq0(?:atp|csp)-", "[0-9A-Za-z_-]{22,60}"),
    ),
    Kind(
        "mailchimp-key",
        "Mailchimp API keys (<32 hex>-us<n>)",
        (("0123456789abcdef0123456789abcdef-us21", "[REDACTED:mailchimp-key]"),),
        ("build-us1",),
        pattern=r"(?P<s>-us(?<=(?<![A-Za-z0-9])[0-9a-f]{32}-us)\d{1,2})(?![A-Za-z0-9])",
        back=32,
    ),
    Kind(
        "linear-key",
        "Linear API keys (lin_api_)",
        (("lin_api_" + "a1B2" * 10, "[REDACTED:linear-key]"),),
        (),
        pattern=_token("lin_api_", "[A-Za-z0-9]{40}"),
    ),
    Kind(
        "sshpass",
        "the password of ``sshpass -p``",
        (("sshpass -p 's3cr3t pw' ssh host", "sshpass -p [REDACTED:sshpass] ssh host"),),
        ("sshpass -e ssh host",),
        pattern=_SSHPASS,
    ),
    Kind(
        "curl-user",
        "the password of ``curl -u user:password`` (--user, --proxy-user)",
        (
            (
                "curl -s -u admin:hunter2 https://x",
                "curl -s -u admin:[REDACTED:curl-user] https://x",
            ),
        ),
        ("curl -u admin https://x",),
        pattern=_CURL_USER,
    ),
    Kind(
        "mysql-password",
        "the password of ``mysql -pPASSWORD``",
        (
            ("mysql -u root -phunter2 db", "mysql -u root -p[REDACTED:mysql-password] db"),
            ("mysql -phunter2", "mysql -p[REDACTED:mysql-password]"),
        ),
        ("mysql -u root -p db",),
        pattern=_MYSQL_P,
    ),
    Kind(
        "netrc",
        "the password of a .netrc entry",
        (
            (
                "machine api.example.com login bob password hunter2",
                "machine api.example.com login bob password [REDACTED:netrc]",
            ),
            (
                "machine h\n  login bob\n  password hunter2\n",
                "machine h\n  login bob\n  password [REDACTED:netrc]\n",
            ),
            (
                'machine h login bob password "hunter 2"',
                "machine h login bob password [REDACTED:netrc]",
            ),
            (
                '["machine h login bob password hunter2", "next"]',
                '["machine h login bob password [REDACTED:netrc]", "next"]',
            ),
        ),
        ("the machine has no password set",),
        pattern=_NETRC,
    ),
    Kind(
        "password-hash",
        "crypt(3) password hashes (shadow, htpasswd): $1$, $5$, $6$, $apr1$, $2b$, $y$",
        (
            (
                "root:$6$rounds=5000$saltsalt$" + "a" * 86 + ":19000:0",
                "root:$6$rounds=5000$[REDACTED:password-hash]:19000:0",
            ),
            ("bob:$apr1$salt1234$" + "b" * 22, "bob:$apr1$[REDACTED:password-hash]"),
        ),
        ("costs $6$ a month",),
        pattern=_PASSWORD_HASH,
    ),
    Kind(
        "aws-configure-set",
        "the value of ``aws configure set aws_secret_access_key|aws_session_token VALUE``",
        (
            (
                "aws configure set aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "aws configure set aws_secret_access_key [REDACTED:aws-secret-key]",
            ),
        ),
        ("aws configure set region us-east-1",),
        pattern=_CONFIGURE_SET,
        label="aws-secret-key",
    ),
    Kind(
        "aws-access-key-id",
        "AWS access key ids (AKIA, ASIA, AROA, ... and A3T), in either case, whole or cut by "
        "a line break",
        (
            (
                "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
                "AWS_ACCESS_KEY_ID=[REDACTED:aws-access-key-id]",
            ),
            ("key ASIAY34FZKBOKMUTVV7A in use", "key [REDACTED:aws-access-key-id] in use"),
            ("id akiaiosfodnn7example.", "id [REDACTED:aws-access-key-id]."),
            ("id AKIAIOSFOD\nNN7EXAMPLE next", "id [REDACTED:aws-access-key-id]\n next"),
        ),
        ("AKIAIOSFODNN7EXAMPLEXYZ", "asiaticpopulationsabc"),
        pattern=_ACCESS_KEY,
        lines=KEEP_BREAKS,
    ),
    Kind(
        "aws-secret-key-after-id",
        "a secret access key right after its key id: a credentials.csv row, ``id:secret``",
        (
            (
                "alice,,AKIAIOSFODNN7EXAMPLE,wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY,https://x",
                "alice,,[REDACTED:aws-access-key-id],[REDACTED:aws-secret-key],https://x",
            ),
        ),
        (),
        pattern=_CSV_SECRET,
        label="aws-secret-key",
    ),
)

# Kinds the key-name scanner (redact._key_values) finds: a key whose name holds a keyword, then
# = : => or (after a command-line flag, or a .netrc-like word) white space, then the value.
KEY_KINDS: "Tuple[Kind, ...]" = (
    Kind(
        "password",
        "values of keys named password, passwd, passphrase, pwd (MYSQL_PWD), in key=value, "
        "key: value, JSON, YAML (camelCase too), shell export and --flag forms",
        (
            ("password=hunter2", "password=[REDACTED:password]"),
            ("DB_PASSWORD='hunter two'", "DB_PASSWORD='[REDACTED:password]'"),
            ("passwd: s3cr3t", "passwd: [REDACTED:password]"),
            ('{"password": "p@ss w0rd"}', '{"password": "[REDACTED:password]"}'),
            ("MYSQL_PWD=hunter2", "MYSQL_PWD=[REDACTED:password]"),
            # JSON in a JSON string in a JSON document: escaped twice.
            (
                r"{\\\"password\\\": \\\"hunter2\\\"}",
                r"{\\\"password\\\": \\\"[REDACTED:password]\\\"}",
            ),
            ("  dbPassword: hunter2", "  dbPassword: [REDACTED:password]"),
            ("app --password hunter2 --v", "app --password [REDACTED:password] --v"),
            ("Password=hunter2;Server=x", "Password=[REDACTED:password];Server=x"),
        ),
        ("password: required", "PWD=/root", "password_file=/etc/pw", "--password-stdin"),
    ),
    Kind(
        "secret",
        "values of keys named secret (client_secret, APP_SECRET, clientSecret)",
        (
            ("client_secret=abcdef123456", "client_secret=[REDACTED:secret]"),
            ("clientSecret: x1y2z3", "clientSecret: [REDACTED:secret]"),
        ),
        ("secret_name=prod-db",),
    ),
    Kind(
        "token",
        "values of keys named token (API_TOKEN, refresh_token, --token)",
        (
            ("Environment=API_TOKEN=abc123xyz", "Environment=API_TOKEN=[REDACTED:token]"),
            ("--token=abc123", "--token=[REDACTED:token]"),
        ),
        (
            "AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/token",
            "TOKEN=$(curl -s x)",
            "token_ttl=60",
        ),
    ),
    Kind(
        "api-key",
        "values of keys named api_key, apikey, access_key, private_key, auth_key, key_data, "
        "credentials, activation code",
        (
            ('Environment="API_KEY=abc123xyz"', 'Environment="API_KEY=[REDACTED:key]"'),
            ("activation-code=Ab12Cd34Ef56", "activation-code=[REDACTED:key]"),
            ("client-key-data: LS0tLS1CRUdJTi", "client-key-data: [REDACTED:key]"),
        ),
        ("api_key_name=main",),
        label="key",
    ),
    Kind(
        "aws-secret-key-by-name",
        "aws_secret_access_key, AWS_SECRET_ACCESS_KEY, SecretAccessKey (JSON inside JSON too)",
        (
            (
                "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "AWS_SECRET_ACCESS_KEY=[REDACTED:aws-secret-key]",
            ),
            (
                r'"{\"SecretAccessKey\": \"wJalrXUtnFEMI/K7\"}"',
                r'"{\"SecretAccessKey\": \"[REDACTED:aws-secret-key]\"}"',
            ),
        ),
        (),
        label="aws-secret-key",
    ),
    Kind(
        "aws-session-token-by-name",
        "AWS_SESSION_TOKEN, aws_security_token, SessionToken",
        (
            (
                "aws_session_token = FQoGZXIvYXdzEXAMPLE",
                "aws_session_token = [REDACTED:aws-session-token]",
            ),
        ),
        (),
        label="aws-session-token",
    ),
    Kind(
        "imds-token",
        "the IMDSv2 token header, X-aws-ec2-metadata-token",
        (
            (
                "X-aws-ec2-metadata-token: AQAEAFakeT0ken==",
                "X-aws-ec2-metadata-token: [REDACTED:imds-token]",
            ),
        ),
        (
            "X-aws-ec2-metadata-token-ttl-seconds: 21600",
            'curl -H "X-aws-ec2-metadata-token: $TOKEN"',
        ),
    ),
)

ALL_KINDS: "Tuple[Kind, ...]" = KINDS + KEY_KINDS

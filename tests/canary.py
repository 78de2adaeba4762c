"""The canary secrets: planted in every source the doctor reads in fixtures/roots/canary-secrets,
and looked for in every byte the doctor writes (tests/test_canary.py; a bundle test can use
``assert_no_secret`` over each file of a bundle).

``python tests/canary.py`` rewrites the tree: a copy of agent-memlock (agent process, its
environment, agent log and unit) with the SSM files of ssm-healthy, and secrets planted in each.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path
from typing import Dict, Iterable, List

REPO = Path(__file__).resolve().parent.parent
TREE = REPO / "fixtures/roots/canary-secrets"
EXPORT = REPO / "fixtures/agent/journal/canary-secrets.export"


def _pem(label: str, body: str, end: bool = True) -> str:
    lines = [f"-----BEGIN {label}-----", body[:64], body[64:]]
    if end:
        lines.append(f"-----END {label}-----")
    return "\n".join(line for line in lines if line)


# kind -> the secret value, each unique and long enough that a 12-character piece of it would
# be a leak.
SECRETS: Dict[str, str] = {
    "aws-access-key-id": "AKIAC4NARY0000000001",
    "aws-sts-key-id": "ASIAC4NARY0000000002",
    "aws-secret-key": "c4naryAwsS3cr3tK3yV4lue/0000000000000003",
    "aws-session-token": "IQoJb3JpZ2luX2VjEC4naryS3ssionT0kenAAAAAAAAAAAAAAAAAAA04xyzXYZ==",
    "url-password": "c4naryUrlPassw0rd05",
    "proxy-password": "c4naryProxyPassw0rd06",
    "password": "c4naryPassw0rdValue07",
    "passwd": "c4naryPasswdValue08",
    "secret": "c4narySecretValue09",
    "token": "c4naryTokenValue10",
    "api-key": "c4naryApiKeyValue11",
    "json-password": "c4naryJsonPassw0rd12",
    "export-password": "c4naryExp0rtPassword13",
    "rsa-private-key": "MIIEpAIBAAKCAQEAc4naryRsaPrivateKeyBody14" + "A" * 60,
    "ec-private-key": "MHcCAQEEIc4naryEcPrivateKeyBody15" + "B" * 60,
    "openssh-private-key": "b3BlbnNzaC1rZXktdjEc4naryOpensshKeyBody16" + "C" * 60,
    "pkcs8-private-key": "MIIEvQIBADANBgkqc4naryPkcs8KeyBody17" + "D" * 60,
    "encrypted-private-key": "MIIFHzBJBgkqc4naryEncryptedKeyBody18" + "E" * 60,
    "truncated-private-key": "MIIEowIBAAKCAQEAc4naryTruncatedKeyBody19" + "F" * 40,
    "bearer-token": "c4naryBearerT0ken20abcdef",
    "basic-credentials": "YzRuYXJ5QmFzaWMyMTpjNG5hcnlwYXNz",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJjNG5hcnkiOiIyMiJ9.c4naryJwtSignature22xyz",
    "github-token": "ghp_c4naryGithubToken23aaaaaaaaaaaaaaaaaaaa",
    "slack-token": "xoxb-c4nary-SlackToken24",
    "imds-token": "c4naryImdsT0ken25AAAAAAAAAAAAAAAAAAAAAAAAAAA==",
    "client-secret": "c4naryClientSecret26",
    "json-secret-key": "c4naryJsonSecretKey/000000000000000000027",
    "activation-code": "c4naryActivationC0de28",
    # The forms and families of redact_kinds.py beyond the first twenty-eight.
    "authorization-basic-lower": "YzRuYXJ5TG93ZXJCYXNpYzI5",
    "authorization-negotiate": "YIIc4naryNegotiate30AAAAAA",
    "authorization-ntlm": "TlRMTVNTUAc4naryNtlm31AAAA",
    "authorization-aws-signature": "c4naryAwsV2Signature32xyz=",
    "url-password-slash-at": "c4nary/Url@Pass34",
    "pgp-private-key": "lQOYBc4naryPgpKeyBody35" + "G" * 60,
    "commented-private-key": "MIIEc4naryCommentedKey36" + "H" * 60,
    "yaml-camel-password": "c4naryCamelPassw0rd37",
    "cli-password-flag": "c4naryCliPassw0rd38",
    "netrc-password": "c4naryNetrcPassw0rd39",
    "lowercase-access-key": "akiac4nary0000000040",
    "split-access-key": "AKIAC4NARYX000000041",
    "csv-secret-key": "c4naryCsvSecretKey42/0000000000000000000",
    "configure-set-secret": "c4naryConfigureSet43/000000000000000000",
    "old-session-token": "FQoDYXdzEC4naryOldSessionToken44AAAAAAAAAA==",
    "azure-account-key": "c4naryAzureAccountKey45AAAAAAAAAAAAAAAAAAAA==",
    "azure-sas-sig": "c4naryAzureSasSig46AAAA%3D",
    "slack-webhook": "T0C4NARY/B0C4NARY/c4narySlackWebhook47xx",
    "cookie": "c4naryCookieValue48",
    "set-cookie": "c4narySetCookie49xx",
    "s3-presigned-signature": "c4a0" + "0" * 58 + "50",
    "docker-auth": "YzRuYXJ5RG9ja2VyQXV0aDUx",
    "npm-token": "npm_c4naryNpmToken52" + "A" * 20,
    "vault-token": "hvs.c4naryVaultToken53AAAAAAAAAA",
    "sshpass": "c4narySshpass54",
    "curl-user": "c4naryCurlUser55",
    "mysql-pwd": "c4naryMysqlPwd56",
    "github-pat": "github_pat_c4naryGithubPat57_AAAAAAAAAAAAAAAA",
    "gitlab-token": "glpat-c4naryGitlab58AAAAAA",
    "stripe-key": "sk_live_c4naryStripeKey59AAAAAAAA",
    "google-api-key": "AIzac4naryGoogleKey60" + "A" * 18,
    "openai-key": "sk-proj-c4naryOpenAiKey61" + "A" * 30,
    "anthropic-key": "sk-ant-api03-c4naryAnthropic62" + "A" * 70,
    "sendgrid-key": "SG.c4narySendgrid63AAAAAA.c4narySendgridSecret63" + "B" * 21,
    "huggingface-token": "hf_canaryHuggingFace" + "X" * 17,
    "password-hash": "c4naryPasswordHash65" + "A" * 66,
    "putty-private-key": "AAAAc4naryPuttyKey66AAAA",
    "escaped-json-password": "c4naryEscapedJson67",
    "mysql-cli-password": "c4naryMysqlCli68",
    "aws-presigned-token": "IQoJb3JpZ2luX2VjEC4naryPresigned69AAAAAAAAAA",
    "client-secret-camel": "c4naryClientSecretCamel70",
}
# The shortest piece of a secret that counts as a leak.
PIECE = 12
# The fewest different characters a piece holds to count (see assert_no_secret).
DISTINCT = 3


def secret_lines() -> List[str]:
    """One line (or PEM block) per secret, in the form it is usually found in."""
    s = SECRETS
    return [
        f"AWS_ACCESS_KEY_ID={s['aws-access-key-id']}",
        f"using temporary key {s['aws-sts-key-id']} for the session",
        f"aws_secret_access_key = {s['aws-secret-key']}",
        f"AWS_SESSION_TOKEN={s['aws-session-token']}",
        f"cloning https://deploy:{s['url-password']}@git.example.com/repo.git",
        f"HTTPS_PROXY=http://proxyuser:{s['proxy-password']}@10.0.0.5:3128",
        f"password={s['password']}",
        f"passwd: {s['passwd']}",
        f"secret={s['secret']}",
        f"token={s['token']}",
        f"api_key={s['api-key']}",
        f'{{"username": "svc", "password": "{s["json-password"]}"}}',
        f"export DB_PASSWORD='{s['export-password']}'",
        _pem("RSA PRIVATE KEY", s["rsa-private-key"]),
        _pem("EC PRIVATE KEY", s["ec-private-key"]),
        _pem("OPENSSH PRIVATE KEY", s["openssh-private-key"]),
        _pem("PRIVATE KEY", s["pkcs8-private-key"]),
        _pem("ENCRYPTED PRIVATE KEY", s["encrypted-private-key"]),
        f"Authorization: Bearer {s['bearer-token']}",
        f"Proxy-Authorization: Basic {s['basic-credentials']}",
        f"id_token={s['jwt']}",
        f"github {s['github-token']} slack {s['slack-token']}",
        f"X-aws-ec2-metadata-token: {s['imds-token']}",
        f"client_secret={s['client-secret']}",
        f'{{"AccessKeyId": "{s["aws-access-key-id"]}", "SecretAccessKey": '
        f'"{s["json-secret-key"]}", "Token": "{s["aws-session-token"]}"}}',
        f"ActivationCode={s['activation-code']}",
        _pem("RSA PRIVATE KEY", s["truncated-private-key"], end=False),
        f"authorization: basic {s['authorization-basic-lower']}",
        f"Authorization: Negotiate {s['authorization-negotiate']}",
        f"Proxy-Authorization: NTLM {s['authorization-ntlm']}",
        f"Authorization: AWS AKIAC4NARY0000000033:{s['authorization-aws-signature']}",
        f"fetching https://deploy:{s['url-password-slash-at']}@git.example.com/x.git",
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\nComment: canary key (test)\n\n"
        + s["pgp-private-key"][:40]
        + "\n"
        + s["pgp-private-key"][40:]
        + "\n-----END PGP PRIVATE KEY BLOCK-----",
        "# -----BEGIN RSA PRIVATE KEY-----\n# "
        + s["commented-private-key"][:42]
        + "\n# "
        + s["commented-private-key"][42:]
        + "\n# -----END RSA PRIVATE KEY-----",
        f"  dbPassword: {s['yaml-camel-password']}",
        f"app --password {s['cli-password-flag']} --verbose",
        f"machine api.example.com login bob password {s['netrc-password']}",
        f"using key id {s['lowercase-access-key']} here",
        f"key {s['split-access-key'][:10]}\n{s['split-access-key'][10:]} wrapped",
        f"alice,,AKIAC4NARY0000000042,{s['csv-secret-key']},https://console",
        f"aws configure set aws_secret_access_key {s['configure-set-secret']}",
        f"old token {s['old-session-token']} here",
        "DefaultEndpointsProtocol=https;AccountName=a;"
        f"AccountKey={s['azure-account-key']};EndpointSuffix=core.windows.net",
        f"https://a.blob.core.windows.net/c?sv=2022-11-02&sig={s['azure-sas-sig']}",
        f"posting to https://hooks.slack.com/services/{s['slack-webhook']}",
        f"Cookie: session={s['cookie']}; theme=light",
        f"set-cookie: id={s['set-cookie']}; Secure",
        f"GET https://b.s3.amazonaws.com/k?X-Amz-Signature={s['s3-presigned-signature']}"
        f"&X-Amz-Security-Token={s['aws-presigned-token']}",
        f'{{"auths": {{"r.example": {{"auth": "{s["docker-auth"]}"}}}}}}',
        f"//registry.npmjs.org/:_authToken={s['npm-token']}",
        f"vault {s['vault-token']} github {s['github-pat']} gitlab {s['gitlab-token']}",
        f"sshpass -p {s['sshpass']} ssh host",
        f"curl -s -u admin:{s['curl-user']} https://example.com",
        f"MYSQL_PWD={s['mysql-pwd']} mysql -u root -p{s['mysql-cli-password']} db",
        f"stripe {s['stripe-key']} google {s['google-api-key']}",
        f"openai {s['openai-key']} anthropic {s['anthropic-key']}",
        f"sendgrid {s['sendgrid-key']} hf {s['huggingface-token']}",
        f"root:$6$c4salt${s['password-hash']}:19000:0:99999:7:::",
        f"Private-Lines: 1\n{s['putty-private-key']}\nPrivate-MAC: 00",
        '{\\"password\\": \\"' + s["escaped-json-password"] + '\\"}',
        f'{{"clientSecret": "{s["client-secret-camel"]}"}}',
    ]


def _one_line(line: str) -> str:
    return line.replace("\n", "\\n")


def _log(prefix: str, lines: Iterable[str]) -> str:
    return "".join(f"{prefix} {line}\n" for line in lines)


def assert_no_secret(data: bytes, where: str = "output") -> None:
    """No planted secret, nor any PIECE-character piece of one, appears in ``data``. A piece
    of the padding some values need for their length (``000000000000``, ``AAAAAAAAAAAA``)
    tells nothing, and a live host's /proc holds such runs: pieces of fewer than
    DISTINCT characters are not looked for."""
    for kind, value in SECRETS.items():
        raw = value.encode()
        for i in range(len(raw) - PIECE + 1):
            piece = raw[i : i + PIECE]
            if len(set(piece)) < DISTINCT:
                continue
            assert piece not in data, f"{where} leaks the {kind} secret ({piece!r})"


def _env_lines() -> List[str]:
    s = SECRETS
    return [
        f"AWS_ACCESS_KEY_ID={s['aws-access-key-id']}",
        f"AWS_SECRET_ACCESS_KEY={s['aws-secret-key']}",
        f"AWS_SESSION_TOKEN={s['aws-session-token']}",
        f"HTTPS_PROXY=http://proxyuser:{s['proxy-password']}@10.0.0.5:3128",
        f"DB_PASSWORD={s['password']}",
        f"APP_SECRET={s['secret']}",
        f"API_TOKEN={s['token']}",
        f"API_KEY={s['api-key']}",
        f"GITHUB_TOKEN={s['github-token']}",
        f"SLACK_TOKEN={s['slack-token']}",
        f"CLIENT_SECRET={s['client-secret']}",
        f"ID_TOKEN={s['jwt']}",
        f"REPO_URL=https://deploy:{s['url-password']}@git.example.com/repo.git",
        f"AUTH_HEADER=Authorization: Bearer {s['bearer-token']}",
        f"PRIVATE_KEY={_one_line(_pem('PRIVATE KEY', s['pkcs8-private-key']))}",
        f"MYSQL_PWD={s['mysql-pwd']}",
        f"VAULT_TOKEN={s['vault-token']}",
        f"NPM_TOKEN={s['npm-token']}",
        f"GH_PAT={s['github-pat']}",
        f"SLACK_WEBHOOK=https://hooks.slack.com/services/{s['slack-webhook']}",
        f"AZURE_STORAGE_CONNECTION_STRING=AccountName=a;AccountKey={s['azure-account-key']}",
        f"OPENAI_API_KEY={s['openai-key']}",
    ]


def write_tree() -> None:
    """fixtures/roots/canary-secrets and its journal export, made anew."""
    roots = REPO / "fixtures/roots"
    if TREE.exists():
        shutil.rmtree(TREE)
    shutil.copytree(roots / "agent-memlock", TREE, symlinks=True)
    ssm = roots / "ssm-healthy"
    for path in sorted(ssm.rglob("*")):
        dest = TREE / path.relative_to(ssm)
        if path.is_dir() and not path.is_symlink():
            dest.mkdir(parents=True, exist_ok=True)
        elif not dest.exists() and not dest.is_symlink():
            shutil.copy2(path, dest, follow_symlinks=False)
    lines = secret_lines()
    flat = [_one_line(line) for line in lines]
    # The agent's log, the SSM agent's logs, and a journal with the agent's own messages.
    with (TREE / "var/log/amzn-guardduty-agent/agent.log").open("a") as fh:
        fh.write(_log("2026/11/20 11:02:12 [DEBUG]", lines))
    # A rotated, compressed log, which the agent log probe reads too (no mtime: reproducible).
    rotated = _log("2026/11/19 23:59:59 [DEBUG]", lines).encode()
    (TREE / "var/log/amzn-guardduty-agent/agent.log.1.gz").write_bytes(
        gzip.compress(rotated, mtime=0)
    )
    for name in ("amazon-ssm-agent.log", "errors.log"):
        with (TREE / "var/log/amazon/ssm" / name).open("a") as fh:
            fh.write(_log("2025-03-05 14:10:40 ERROR [ssm-agent-worker]", lines))
    # The agent process's environment and command line.
    proc = TREE / "proc/2540"
    environ = proc.joinpath("environ").read_bytes().rstrip(b"\0").split(b"\0")
    environ = [e for e in environ if not e.startswith(b"HTTPS_PROXY=")]
    environ += [line.encode() for line in _env_lines()]
    proc.joinpath("environ").write_bytes(b"\0".join(environ) + b"\0")
    cmdline = proc.joinpath("cmdline").read_bytes()
    proc.joinpath("cmdline").write_bytes(
        cmdline + f"--token={SECRETS['token']}\0--password={SECRETS['password']}\0".encode()
    )
    # The unit, a drop-in, the SSM agent's unit, os-release, resolv.conf and /etc/environment.
    unit = TREE / "lib/systemd/system/amazon-guardduty-agent.service"
    text = unit.read_text().replace(
        "[Service]\n",
        "[Service]\n"
        + "".join(f'Environment="{e}"\n' for e in _env_lines())
        + "".join(f"# {line}\n" for line in flat),
    )
    unit.write_text(text)
    dropin = TREE / "etc/systemd/system/amazon-guardduty-agent.service.d/override.conf"
    dropin.parent.mkdir(parents=True, exist_ok=True)
    dropin.write_text(
        "[Service]\n"
        + "".join(f"Environment={e.replace(' ', '_')}\n" for e in _env_lines())
        + "".join(f"# {line}\n" for line in flat)
    )
    ssm_unit = TREE / "usr/lib/systemd/system/amazon-ssm-agent.service"
    ssm_unit.write_text(
        ssm_unit.read_text().replace(
            "[Service]\n",
            "[Service]\n" + "".join(f'Environment="{e}"\n' for e in _env_lines()),
        )
    )
    with (TREE / "etc/os-release").open("a") as fh:
        fh.write("".join(f"# {line}\n" for line in flat))
        fh.write(f'BUILD_TOKEN="{SECRETS["token"]}"\n')
    (TREE / "etc/resolv.conf").write_text(
        "".join(f"# {line}\n" for line in flat) + "nameserver 10.0.0.2\nsearch ec2.internal\n"
    )
    (TREE / "etc/environment").write_text("".join(f"{e}\n" for e in _env_lines()))
    # The SSM state document of the GuardDuty association, with secrets in its parameters.
    state = next((TREE / "var/lib/amazon/ssm").glob("i-*/document/state/current/*"))
    document = json.loads(state.read_text())
    document["DocumentInformation"]["SessionOwner"] = lines[0]
    document["CanaryParameters"] = {"lines": flat, "password": SECRETS["json-password"]}
    state.write_text(json.dumps(document, indent=2) + "\n")
    # The journal: the clean start of the agent, then its messages with the secrets.
    base = (REPO / "fixtures/agent/journal/clean-start.export").read_text()
    entries = []
    for n, line in enumerate(flat):
        entries.append(
            f"__REALTIME_TIMESTAMP={1795172100000000 + n * 1000000}\n"
            f"__MONOTONIC_TIMESTAMP={17700000000 + n * 1000000}\n"
            "_BOOT_ID=6f0e3b1c9a2d4e5f8a7b6c5d4e3f2a1b\n"
            "_MACHINE_ID=3c1f0a9e8d7b4c2a9e1f0d3b5a7c9e11\n"
            "_HOSTNAME=ip-10-0-1-23\n_TRANSPORT=stdout\n_PID=2540\n_UID=0\n"
            "_COMM=amazon-guardduty\n_SYSTEMD_UNIT=amazon-guardduty-agent.service\n"
            "SYSLOG_IDENTIFIER=amazon-guardduty-agent\nPRIORITY=3\n"
            f"MESSAGE={line}\n"
        )
    EXPORT.write_text(base.rstrip("\n") + "\n\n" + "\n".join(entries))


if __name__ == "__main__":
    write_tree()
    sys.stdout.write(f"wrote {TREE} and {EXPORT}\n")

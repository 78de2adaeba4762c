"""Pure parsers and helpers of the network area, on captured files and values built inline."""

from __future__ import annotations

from pathlib import Path

import pytest

from amzn_gd_doctor.facts.network import classify_address
from amzn_gd_doctor.host.network import (
    clean,
    format_server,
    parse_certificate_names,
    parse_server,
)
from amzn_gd_doctor.probes.net_endpoints import endpoint_names, parse_fips_enabled
from amzn_gd_doctor.probes.net_proxy import mask_proxy, proxy_only
from amzn_gd_doctor.probes.net_resolvers import parse_resolv_conf
from amzn_gd_doctor.rules.network import no_proxy_exempts

ROOTS = Path(__file__).resolve().parents[2] / "fixtures" / "network" / "roots"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("10.0.0.2", ("10.0.0.2", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("[::1]:5353", ("::1", 5353)),
        ("::1", ("::1", 53)),
        (" 169.254.169.253 ", ("169.254.169.253", 53)),
    ],
)
def test_parse_server(text: str, expected: tuple) -> None:
    assert parse_server(text) == expected


@pytest.mark.parametrize(
    "text", ["dns.example", "10.0.0.2:0", "10.0.0.2:70000", "[::1", "[::1]x", "10.0.0.2:port", ""]
)
def test_parse_server_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_server(text)


def test_format_server() -> None:
    assert format_server("10.0.0.2", 53) == "10.0.0.2"
    assert format_server("127.0.0.1", 5353) == "127.0.0.1:5353"
    assert format_server("::1", 5353) == "[::1]:5353"


@pytest.mark.parametrize(
    "variant, nameservers, search, options",
    [
        ("al2023-plain", ("10.0.0.2",), ("ec2.internal",), ("timeout:2", "attempts:5")),
        ("ubuntu-resolved", ("127.0.0.53",), ("ec2.internal",), ("edns0", "trust-ad")),
        ("no-nameserver", (), ("example.internal",), ()),
    ],
)
def test_parse_resolv_conf(variant: str, nameservers: tuple, search: tuple, options: tuple) -> None:
    conf = parse_resolv_conf((ROOTS / variant / "etc/resolv.conf").read_text())
    assert (conf.nameservers, conf.search, conf.options) == (nameservers, search, options)


def test_parse_resolved_upstreams_keeps_zone() -> None:
    text = (ROOTS / "ubuntu-resolved/run/systemd/resolve/resolv.conf").read_text()
    assert parse_resolv_conf(text).nameservers == ("172.31.0.2", "fe80::1%eth0")


def test_parse_resolv_conf_junk() -> None:
    text = (
        "nameserver\nnameserver dns.example\nnameserver 10.0.0.2 # c\nnameserver 10.0.0.2\n\x1b[31m"
    )
    assert parse_resolv_conf(text).nameservers == ("10.0.0.2",)


def test_fips_switch() -> None:
    assert parse_fips_enabled(b"1\n") is True
    assert parse_fips_enabled(b"0\n") is False
    assert parse_fips_enabled(b"") is False


def test_endpoint_names() -> None:
    names = [(e.name, e.kind) for e in endpoint_names("eu-west-3", True)]
    assert names == [
        ("guardduty-data.eu-west-3.amazonaws.com", "standard"),
        ("guardduty-data-v2.eu-west-3.amazonaws.com", "link_local"),
        ("guardduty-data-fips.eu-west-3.amazonaws.com", "fips"),
    ]
    assert "not confirmed" in endpoint_names("eu-west-3", True)[2].note
    assert len(endpoint_names("eu-west-3", False)) == 2


@pytest.mark.parametrize(
    "address, cidrs, expected",
    [
        ("10.0.3.7", ("10.0.0.0/16",), "in_vpc"),
        ("10.0.3.7", ("172.31.0.0/16", "10.0.0.0/16"), "in_vpc"),
        ("10.9.3.7", ("10.0.0.0/16",), "private_outside"),
        ("100.64.1.1", ("10.0.0.0/16",), "private_outside"),
        ("52.94.4.10", ("10.0.0.0/16",), "public"),
        ("10.9.3.7", (), "private_unknown"),
        ("127.0.0.10", ("127.0.0.0/8",), "in_vpc"),
    ],
)
def test_classify_address(address: str, cidrs: tuple, expected: str) -> None:
    assert classify_address(address, cidrs) == expected


NAME = "guardduty-data.us-east-1.amazonaws.com"


@pytest.mark.parametrize(
    "no_proxy, expected",
    [
        ("", None),
        ("localhost,127.0.0.1,169.254.169.254", None),
        ("*", "*"),
        (".amazonaws.com", ".amazonaws.com"),
        ("amazonaws.com", "amazonaws.com"),
        ("*.amazonaws.com", "*.amazonaws.com"),
        (f"localhost, {NAME.upper()}", NAME.upper()),
        (f"{NAME}:443", f"{NAME}:443"),
        (f"{NAME}:8443", None),
        ("data.us-east-1.amazonaws.com", None),  # a suffix must end at a label boundary
        ("s3.amazonaws.com,.us-east-1.amazonaws.com", ".us-east-1.amazonaws.com"),
    ],
)
def test_no_proxy_exempts(no_proxy: str, expected: object) -> None:
    assert no_proxy_exempts(NAME, 443, no_proxy) == expected


def test_mask_proxy_hides_credentials_and_controls() -> None:
    assert mask_proxy("http://user:s3cret@10.0.0.9:3128") == "http://***@10.0.0.9:3128"
    assert mask_proxy("http://proxy:3128\x1b[2J") == "http://proxy:3128"
    assert proxy_only({"HTTPS_PROXY": "http://a:b@p:1", "PATH": "/bin", "no_proxy": "x"}) == {
        "HTTPS_PROXY": "http://***@p:1",
        "no_proxy": "x",
    }


def test_clean_bounds() -> None:
    assert clean("a\x00b\nc\x1b[31m") == "a\\x00b\\x0ac"
    assert len(clean("x" * 500)) == 200


def test_parse_certificate_names(pki) -> None:  # type: ignore[no-untyped-def]
    import ssl

    der = ssl.PEM_cert_to_DER_cert(pki.certs["untrusted"][0].read_text())
    subject, issuer, names = parse_certificate_names(der)
    assert subject == f"O=Test, CN={NAME}"
    assert issuer == "O=Test, CN=Corp Inspection CA"
    assert names == (NAME, "guardduty-data-v2.us-east-1.amazonaws.com")


@pytest.mark.parametrize("der", [b"", b"\x30\x82\xff\xff", b"\x30\x03\x02\x01\x01", b"junk"])
def test_parse_certificate_names_rejects(der: bytes) -> None:
    with pytest.raises(ValueError):
        parse_certificate_names(der)

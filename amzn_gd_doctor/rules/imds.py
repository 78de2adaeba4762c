"""IMDS rules: the identity document the agent signs in with, and the exclusion tag.

Pure functions of the IMDS and platform facts.
"""

from typing import List, Optional

from ..facts.imds import IMDS_IDENTITY, IMDS_TAGS, TAG_KEY, IdentityResult, TagResult
from ..facts.platform import PLATFORM_EC2_SIGNS, Ec2Signs
from ..facts.ssm import SSM_REGISTRATION, SsmRegistration
from ..model import Verdict, failed, inconclusive, passed, warned
from ..registry import rule

HOP_LIMIT_SYMPTOM = (
    "the hop-limit symptom (HttpPutResponseHopLimit 1 while the doctor runs in a container or "
    "behind an extra network hop)"
)


@rule(
    "imds.identity_document",
    title="Instance identity document from IMDS",
    facts=(IMDS_IDENTITY,),
    optional=(PLATFORM_EC2_SIGNS, SSM_REGISTRATION),
    issues=("identity_document_unavailable",),
)
def identity_document(
    result: IdentityResult, signs: "Optional[Ec2Signs]", registration: "Optional[SsmRegistration]"
) -> Verdict:
    if result.document is not None and result.session is not None:
        return _document_read(result)
    detail = result.detail or "IMDS gave no identity document"
    if result.failure == "hop_limit":
        return inconclusive(
            f"{detail}: {HOP_LIMIT_SYMPTOM}. The agent runs on the host itself and may not be "
            "affected; run the doctor on the host, not in a container."
        )
    evidence = (f"IMDS endpoint: {result.config.base_url} ({result.config.source})",)
    hints = _not_ec2_hints(signs, registration)
    return failed(
        "identity_document_unavailable",
        detail + "." + "".join(f" {h}." for h in hints),
        evidence=evidence,
    )


def _not_ec2_hints(
    signs: "Optional[Ec2Signs]", registration: "Optional[SsmRegistration]"
) -> "List[str]":
    """No identity document is expected on a host that is not EC2: say so when the SSM
    registration or the host's own signs show it."""
    hints = []
    managed_id = (registration.managed_instance_id if registration else None) or ""
    if managed_id.startswith("mi-"):
        hints.append(
            f"SSM registered this host as {managed_id}, a hybrid (non-EC2) managed "
            "node: only EC2 instances have an identity document"
        )
    if signs is not None and signs.is_ec2 is False:
        hints.append(
            f"this host shows no EC2 signs ({signs.describe()}): a non-EC2 host has "
            "no identity document"
        )
    return hints


def _document_read(result: IdentityResult) -> Verdict:
    """Read, but how the session went (IMDSv1 fallback, an unanswered token PUT) is worth a
    warning, since the agent may not get as far."""
    doc, session = result.document, result.session
    assert doc is not None and session is not None  # the caller checked both
    summary = (
        f"identity document of {doc.instance_id} ({doc.instance_type or 'type unknown'})"
        f" in {doc.region}, account {doc.account_id}, read with {session.version}."
    )
    notes = "; ".join(session.notes)
    if session.put_unanswered:
        notes += f": {HOP_LIMIT_SYMPTOM}"
    return warned(f"{summary} Note: {notes}.") if notes else passed(summary)


@rule(
    "imds.exclusion_tag",
    title="GuardDutyManaged exclusion tag",
    facts=(IMDS_TAGS,),
    requires=("imds.identity_document",),
    issues=("exclusion_tag",),
)
def exclusion_tag(tags: TagResult) -> Verdict:
    if not tags.tags_in_metadata:
        return passed(
            "tags in instance metadata are off, so GuardDuty cannot read a "
            f"{TAG_KEY} exclusion tag through IMDS either."
        )
    if tags.value is None:
        return passed(f"no {TAG_KEY} tag on the instance.")
    value = tags.value.strip()
    if value.lower() == "false":
        return failed(
            "exclusion_tag",
            f"the instance carries {TAG_KEY}=false, which excludes it from Runtime Monitoring.",
            evidence=(f"IMDS tag {TAG_KEY}={value}",),
        )
    if value.lower() == "true":
        return passed(f"{TAG_KEY}=true: an inclusion tag.")
    return warned(f"{TAG_KEY}={value[:60]!r} is neither true nor false; only false excludes.")

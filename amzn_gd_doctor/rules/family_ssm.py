"""The SSM agent on Bottlerocket, for ssm.agent_running: it runs in the control container (a
host container), not on the host, so neither a package nor a systemd unit says whether it runs.

Pure functions of ssm.agent and family.bottlerocket. Registers no rule.
"""

from ..facts.family import CONTROL_CONTAINER, CONTROL_VIEW, HOST_VIEW, Bottlerocket
from ..facts.ssm import SsmAgent
from ..model import Verdict, failed, inconclusive, passed, warned

ENABLE_CONTROL = (
    "Enable the control container: `apiclient set host-containers.control.enabled=true` "
    "(admin container), or `[settings.host-containers.control]` `enabled = true` in the user "
    "data; its instance profile needs AmazonSSMManagedInstanceCore."
)


BY_HAND_CONTROL = "sudo sheltie journalctl -u host-containers@control"


def _pids(ssm: SsmAgent) -> str:
    return f", pid {', '.join(map(str, ssm.pids))}" if ssm.pids else ""


def ssm_on_bottlerocket(ssm: SsmAgent, host: Bottlerocket) -> Verdict:
    """The control container, as seen from inside it or from the host's files."""
    if host.view == CONTROL_VIEW:
        if ssm.running:
            return passed(
                f"the SSM agent runs in Bottlerocket's control container, where this doctor "
                f"runs ({host.label}{_pids(ssm)})."
            )
        if ssm.running_known:
            return failed(
                "waiting_for_ssm_notification",
                "the SSM agent does not run in Bottlerocket's control container, where this "
                "doctor runs: the instance is not SSM managed.",
                fix=(ENABLE_CONTROL,),
            )
        return inconclusive("whether the SSM agent runs in this control container is unknown.")
    if host.view != HOST_VIEW:
        return inconclusive(
            f"{host.label} seen from its {host.view}: the control container, where the SSM "
            "agent runs, cannot be seen from here."
        )
    return _from_host(ssm, host)


def _from_host(ssm: SsmAgent, host: Bottlerocket) -> Verdict:
    control = host.container(CONTROL_CONTAINER)
    state = f", its state in {host.ssm_state}" if host.ssm_state else ""
    process = f"; an amazon-ssm-agent process runs{_pids(ssm)}" if ssm.running else ""
    if control is not None and control.enabled and ssm.running_known and not ssm.running:
        return warned(
            f"Bottlerocket's control container, where the SSM agent runs, is enabled (in "
            f"{control.seen_in}{state}), but no amazon-ssm-agent process is in the process "
            "table read: it may be restarting (host-ctr retries every 45 s).",
            fix=(f"Read why: `{BY_HAND_CONTROL}` from the admin container.",),
        )
    if control is not None and control.enabled:
        return passed(
            f"the SSM agent runs in Bottlerocket's control container (enabled in "
            f"{control.seen_in}{state}){process}."
        )
    if control is not None and control.enabled is None:
        return warned(
            f"the SSM agent runs in Bottlerocket's control container, which is there "
            f"({control.seen_in}{state}), but whether it is enabled could not be read (a copy "
            f"of the disk lacks /etc, a tmpfs on Bottlerocket){process}."
        )
    if control is None and not host.settings_read:
        return inconclusive(
            "Bottlerocket's host-container settings could not be read, so whether its control "
            "container (where the SSM agent runs) is enabled is unknown."
        )
    seen = (
        f"is disabled (enabled = false in {control.seen_in})"
        if control is not None
        else f"is not configured (no env file of it in {', '.join(host.settings_read)})"
    )
    return failed(
        "waiting_for_ssm_notification",
        f"Bottlerocket's control container, where the SSM agent runs, {seen}: the instance is "
        "not SSM managed, so GuardDuty's association never reaches it.",
        fix=(ENABLE_CONTROL,),
    )

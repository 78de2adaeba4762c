# The step's shell part when the instance has no python3 (scripts/build_ssm_document.py puts
# it into the document; edit here). It says what it can see with sh alone, then exits 2.
#
# Bottlerocket has no Python on the host, and Run Command runs in its control container, where
# host-ctr mounts the host's os-release as /etc/bottlerocket-release and the read-only API
# client as apiclient. GuardDuty covers the ECS variants aws-ecs-2 and aws-ecs-3 from release
# 1.62.1, with its agent as the host container amazon-guardduty-agent; EKS variants are
# covered by the EKS add-on instead.
if [ -r /etc/bottlerocket-release ]; then
  V=$(sed -n 's/^VERSION_ID=//p' /etc/bottlerocket-release | tr -d '"')
  VARIANT=$(sed -n 's/^VARIANT_ID=//p' /etc/bottlerocket-release | tr -d '"')
  case $VARIANT in
    aws-ecs-2*|aws-ecs-3*)
      if [ "$(printf '%s\n%s\n' 1.62.1 "$V" | sort -V | head -n 1)" = 1.62.1 ]; then
        SUPPORT="GuardDuty supports this variant and release (aws-ecs-2 or aws-ecs-3, 1.62.1 or later)"
      else
        SUPPORT="GuardDuty supports aws-ecs-2 and aws-ecs-3 from release 1.62.1: update the AMI (the console shows Agent Not Provisioned, \"Kernel version is lower than the supported version.\")"
      fi ;;
    aws-k8s-*)
      SUPPORT="an EKS variant, whose coverage is EKS Runtime Monitoring's (the aws-guardduty-agent add-on): see https://docs.aws.amazon.com/guardduty/latest/ug/eks-runtime-monitoring-coverage.html" ;;
    *)
      SUPPORT="GuardDuty covers only the ECS variants aws-ecs-2 and aws-ecs-3 on EC2" ;;
  esac
  AGENT="not known (no apiclient here)"
  if command -v apiclient >/dev/null 2>&1; then
    S=$(apiclient get settings.host-containers.amazon-guardduty-agent 2>/dev/null | tr -d ' \n')
    case $S in
      *'"enabled":true'*) AGENT="enabled" ;;
      *'"enabled":false'*) AGENT="present but disabled" ;;
      *) AGENT="not deployed (the API has no settings.host-containers.amazon-guardduty-agent)" ;;
    esac
  fi
  echo "amzn-gd-doctor: Bottlerocket $V ($VARIANT), seen from its control container: $SUPPORT; GuardDuty's agent host container amazon-guardduty-agent: $AGENT. The doctor itself needs python3, which this container lacks."
  exit 2
fi
echo "amzn-gd-doctor: no python3 on this instance (nor /usr/libexec/platform-python)"
exit 2

"""amzn-gd-doctor: explains on an EC2 instance why GuardDuty Runtime Monitoring is Unhealthy."""

__version__ = "0.1.0"

"""Webhook delivery: queues, Stripe's retry rules, deliberate faults, the delivery log."""
from simulator.delivery.engine import DeliveryEngine
from simulator.delivery.jobs import Job
from simulator.delivery.targets import check_secrets
from simulator.delivery.faults import FAULTS, FaultError, parse_fault, parse_faults
from simulator.delivery.log import DeliveryLog, DeliveryTimeout
from simulator.delivery.schedule import LIVE, TEST, DisableRule, RetrySchedule, get_schedule

__all__ = ["DeliveryEngine", "Job", "check_secrets", "FAULTS", "FaultError", "parse_fault", "parse_faults",
           "DeliveryLog", "DeliveryTimeout", "LIVE", "TEST", "DisableRule", "RetrySchedule", "get_schedule"]

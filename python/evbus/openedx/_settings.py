"""Django settings (edx-event-bus-kafka's names) -> evbus configuration names."""
import logging
from typing import Any, Dict, Optional, Tuple

from django.conf import settings

log = logging.getLogger("evbus.openedx")


def common() -> Optional[Dict[str, Any]]:
    """What producer and consumer share; None when EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS is missing
    (as edx-event-bus-kafka, which then warns and stays inactive)."""
    bootstrap = getattr(settings, "EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS", None)
    if bootstrap is None:
        return None
    s: Dict[str, Any] = {"kafka.bootstrap.servers": bootstrap}
    url = getattr(settings, "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL", None)
    if url:
        s["schema.registry.url"] = url
        key = getattr(settings, "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_KEY", "")
        secret = getattr(settings, "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET", "")
        if key or secret:
            s["schema.registry.api.key"] = key
            s["schema.registry.api.secret"] = secret
    key = getattr(settings, "EVENT_BUS_KAFKA_API_KEY", None)
    secret = getattr(settings, "EVENT_BUS_KAFKA_API_SECRET", None)
    if key and secret:  # SASL_SSL + PLAIN, as the Python bus sets them
        s["sasl.username"] = key
        s["sasl.password"] = secret
    prefix = getattr(settings, "EVENT_BUS_TOPIC_PREFIX", None)
    if prefix:
        s["topic.prefix"] = prefix
    service = getattr(settings, "EVENTS_SERVICE_NAME", None) or getattr(settings, "SERVICE_VARIANT", None)
    if service:
        s["service"] = service  # client.id and the default ce_source, as the Python bus
    # The audit lines go to the "evbus.openedx" logger at INFO: when that level is off at start
    # they are not made at all (each would cost a call into Python for nothing).
    s["audit.log"] = bool(getattr(settings, "EVENT_BUS_KAFKA_AUDIT_LOGGING_ENABLED", True)) and \
        log.isEnabledFor(logging.INFO)
    return s


def producer() -> Optional[Dict[str, Any]]:
    s = common()
    if s is None:
        return None
    spool = getattr(settings, "EVBUS_PRODUCER_SPOOL_DIR", None)
    if spool:
        s["producer.spool.dir"] = spool
    return s


def consumer(group_id: str) -> Optional[Dict[str, Any]]:
    s = common()
    if s is None:
        return None
    s["consumer.group"] = group_id
    limit = getattr(settings, "EVENT_BUS_KAFKA_CONSUMER_CONSECUTIVE_ERRORS_LIMIT", None)
    if limit:
        s["consumer.max.consecutive.errors"] = int(limit)
    poll = getattr(settings, "EVENT_BUS_KAFKA_CONSUMER_POLL_TIMEOUT", None)
    if poll is not None:
        s["consumer.poll.timeout.ms"] = int(float(poll) * 1000)
    sleep = getattr(settings, "EVENT_BUS_KAFKA_CONSUMER_POLL_FAILURE_SLEEP", None)
    if sleep is not None:
        s["consumer.poll.failure.sleep.ms"] = int(float(sleep) * 1000)
    return s


def consumers_enabled() -> bool:
    return bool(getattr(settings, "EVENT_BUS_KAFKA_CONSUMERS_ENABLED", True))


def metrics_address() -> Optional[Tuple[str, int]]:
    """EVBUS_METRICS_PORT: a port (every interface, for an orchestrator's probes) or
    "HOST:PORT"; None when unset."""
    v = getattr(settings, "EVBUS_METRICS_PORT", None)
    if v in (None, ""):
        return None
    host, _, port = str(v).rpartition(":")
    return host or "0.0.0.0", int(port)

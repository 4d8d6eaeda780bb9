"""A service switched to evbus by two settings; the EVENT_BUS_KAFKA_* values come from the test's
environment (the broker and registry it started)."""
import os

SECRET_KEY = "test-only"
USE_TZ = True
INSTALLED_APPS = ["openedx_events", "rx"]
DATABASES = {}
EVENTS_SERVICE_NAME = "discovery"

EVENT_BUS_PRODUCER = "evbus.openedx.create_producer"
EVENT_BUS_CONSUMER = "evbus.openedx.EventConsumer"
EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS = os.environ["TEST_BOOTSTRAP"]
EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL = os.environ["TEST_REGISTRY"]
EVENT_BUS_TOPIC_PREFIX = os.environ["TEST_PREFIX"]
EVENT_BUS_KAFKA_CONSUMER_POLL_TIMEOUT = 0.2
if os.environ.get("TEST_METRICS_PORT"):
    EVBUS_METRICS_PORT = int(os.environ["TEST_METRICS_PORT"])
LOGGING = {"version": 1, "handlers": {"err": {"class": "logging.StreamHandler"}},
           "root": {"handlers": ["err"], "level": "INFO"}}

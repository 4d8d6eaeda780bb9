"""evbus as the Open edX event bus: EVENT_BUS_PRODUCER = "evbus.openedx.create_producer",
EVENT_BUS_CONSUMER = "evbus.openedx.EventConsumer".

Everything Open edX-specific is openedx-events' own: AvroSignalSerializer/Deserializer for the
data and the schemas (the service's installed version, registered with libevbus through
evbus_conf_add_schema), EventsMetadata for the headers, the signals' own send.  The settings are
edx-event-bus-kafka's EVENT_BUS_KAFKA_* names, plus EVBUS_PRODUCER_SPOOL_DIR and
EVBUS_METRICS_PORT.
"""
from .consumer import EventConsumer
from .producer import EventProducer, create_producer

__all__ = ["create_producer", "EventProducer", "EventConsumer"]

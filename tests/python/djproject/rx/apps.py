"""A receiver of xblock.published that appends "<event id> <usage key>" to $RX_OUT."""
import os

from django.apps import AppConfig


def on_published(sender, signal, **kwargs):  # pylint: disable=unused-argument
    with open(os.environ["RX_OUT"], "a") as f:
        f.write("%s %s\n" % (kwargs["metadata"].id, kwargs["xblock_info"].usage_key))


class RxConfig(AppConfig):
    name = "rx"

    def ready(self):
        from openedx_events.content_authoring.signals import XBLOCK_PUBLISHED
        XBLOCK_PUBLISHED.connect(on_published, weak=False)

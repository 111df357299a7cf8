"""The notification service's gauges, computed from its store when /metrics is scraped."""

from __future__ import annotations

from prometheus_client import Gauge

from paysim.services.notification.service import NotificationService
from paysim.services.notification.templates import Channel

NOTIFICATIONS_SENT = Gauge(
    "notification_messages_sent",
    "Messages recorded as sent by the notification service, by channel.",
    ["channel"],
)


def refresh_gauges(service: NotificationService) -> None:
    counts = service.counts_by_channel()
    for channel in Channel:
        NOTIFICATIONS_SENT.labels(channel.value).set(counts.get(channel.value, 0))

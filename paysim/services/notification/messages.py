"""From an event to the messages it causes: pure rendering of ``templates``."""

from __future__ import annotations

from dataclasses import dataclass

from paysim.domain.events import AnyEvent, DeliveryEvent, OrderEvent, PaymentEvent
from paysim.domain.money import Money
from paysim.services.notification.templates import TEMPLATES, Channel, Template

NO_REASON = "no reason was given"
NO_AMOUNT = "the amount due"
NO_REFUND_AMOUNT = "the amount paid"


@dataclass(frozen=True, slots=True)
class Message:
    """One message on one channel, rendered."""

    channel: Channel
    template: str
    subject: str
    text: str


def _money(amount: Money | None, fallback: str) -> str:
    # Money's str is exact: "25.99 USD", "1000 JPY", "1.500 KWD"; never through a float.
    return str(amount) if amount is not None else fallback


def _reason(*candidates: str | None) -> str:
    for candidate in candidates:
        if candidate and candidate.strip():
            # The sentence goes on after the reason: drop its own final full stop.
            return candidate.strip().rstrip(".")
    return NO_REASON


def fields_for(event: AnyEvent) -> dict[str, str]:
    """Every placeholder's value for ``event`` (defaults where the event is silent)."""
    fields = {
        "order_id": str(event.order_id),
        "amount": NO_AMOUNT,
        "refund_amount": NO_REFUND_AMOUNT,
        "reason": NO_REASON,
        "courier": "A courier",
    }
    if isinstance(event, PaymentEvent):
        fields["amount"] = _money(event.amount, NO_AMOUNT)
        fields["refund_amount"] = _money(event.refund_amount or event.amount, NO_REFUND_AMOUNT)
        fields["reason"] = _reason(
            event.failure_reason, event.decline_code, event.error_code, event.cancel_reason
        )
    elif isinstance(event, OrderEvent):
        fields["amount"] = _money(event.total_amount, NO_AMOUNT)
        fields["reason"] = _reason(event.reason)
    elif isinstance(event, DeliveryEvent):
        fields["reason"] = _reason(event.reason)
        if event.agent_id:
            fields["courier"] = f"Courier {event.agent_id}"
    return fields


def render(template: Template, fields: dict[str, str]) -> tuple[str, str]:
    """(subject, text) of ``template`` with ``fields`` filled in."""
    return template.subject.format_map(fields), template.text.format_map(fields)


def messages_for(event: AnyEvent) -> list[Message]:
    """The messages ``event`` causes, one per channel; none for an event without template."""
    template = TEMPLATES.get(event.event_type)
    if template is None:
        return []
    subject, text = render(template, fields_for(event))
    return [Message(channel, template.name, subject, text) for channel in template.channels]

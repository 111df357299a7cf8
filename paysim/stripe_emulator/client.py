"""``EmulatorAdmin``: the Python client of the emulator's admin API (``/_emulator``).

Synchronous, one pooled httpx client with a timeout on every call, each bearing the
stack's admin token (a running stack's is ``ServiceUrls.admin_token``). Errors from the
admin API raise ``httpx.HTTPStatusError``; unreachable emulators raise httpx's errors.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr, TypeAdapter

from paysim.stripe_emulator.models import (
    Delivery,
    FaultKind,
    FaultRuleView,
    FaultSpec,
    Health,
    Ledger,
    WebhookSettingsUpdate,
    WebhookSettingsView,
)

_RULES = TypeAdapter(list[FaultRuleView])
_DELIVERIES = TypeAdapter(list[Delivery])


class EmulatorAdmin:
    """Drives one emulator: faults, webhooks, ledger, reset. Use as a context manager."""

    def __init__(self, base_url: str, token: SecretStr | str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        secret = token.get_secret_value() if isinstance(token, SecretStr) else token
        self._http = httpx.Client(
            base_url=self.base_url + "/_emulator",
            headers={"Authorization": f"Bearer {secret}"},
            timeout=timeout,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EmulatorAdmin:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._http.request(method, path, json=body)
        response.raise_for_status()
        return response.json() if response.content else None

    def health(self) -> Health:
        return Health.model_validate(self._call("GET", "/health"))

    def set_fault(
        self,
        kind: FaultKind,
        match: str = "*",
        *,
        probability: float = 1.0,
        times: int | None = None,
        latency_ms: int = 0,
        status: int = 500,
        hold_s: float = 30.0,
    ) -> FaultRuleView:
        """Add a fault rule, e.g. ``set_fault("timeout", "POST /v1/payment_intents/*/confirm",
        times=1, hold_s=5)``; see :class:`~paysim.stripe_emulator.models.FaultSpec`."""
        spec = FaultSpec(
            kind=kind,
            match=match,
            probability=probability,
            times=times,
            latency_ms=latency_ms,
            status=status,
            hold_s=hold_s,
        )
        return FaultRuleView.model_validate(self._call("POST", "/faults", spec.model_dump()))

    def faults(self) -> list[FaultRuleView]:
        return _RULES.validate_python(self._call("GET", "/faults"))

    def remove_fault(self, rule_id: str) -> None:
        self._call("DELETE", f"/faults/{rule_id}")

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def seed_faults(self, seed: int) -> None:
        self._call("POST", "/faults/seed", {"seed": seed})

    def ledger(self) -> Ledger:
        return Ledger.model_validate(self._call("GET", "/ledger"))

    def configure_webhooks(
        self,
        url: str | None = None,
        secret: str | None = None,
        *,
        duplicate: bool | float | None = None,
        reorder: bool | None = None,
        **settings: Any,
    ) -> WebhookSettingsView:
        """Change the webhook endpoint; arguments left out keep their current value.

        ``duplicate``: ``True`` sends every event twice, a float that fraction of them.
        Further settings (``max_attempts``, ``retry_base_s``, ``retry_max_s``,
        ``timeout_s``, ``reorder_window_s``, ``enabled_events``) pass by keyword.
        """
        given: dict[str, Any] = {"url": url, "secret": secret, "reorder": reorder, **settings}
        if duplicate is not None:
            given["duplicate"] = float(duplicate)
        changes = {name: value for name, value in given.items() if value is not None}
        update = WebhookSettingsUpdate.model_validate(changes)
        body = update.model_dump(exclude_unset=True)
        return WebhookSettingsView.model_validate(self._call("PATCH", "/webhooks", body))

    def disable_webhooks(self) -> WebhookSettingsView:
        """Stop sending webhooks (events are still recorded, see :meth:`events`)."""
        return WebhookSettingsView.model_validate(self._call("PATCH", "/webhooks", {"url": None}))

    def webhook_settings(self) -> WebhookSettingsView:
        return WebhookSettingsView.model_validate(self._call("GET", "/webhooks"))

    def webhook_deliveries(self) -> list[Delivery]:
        return _DELIVERIES.validate_python(self._call("GET", "/webhooks/deliveries"))

    def events(self) -> list[dict[str, Any]]:
        """Every event the emulator produced, sent or not, oldest first."""
        events: list[dict[str, Any]] = self._call("GET", "/events")
        return events

    def reset(self) -> None:
        """Back to how the emulator started: state, idempotency keys, faults, webhook logs
        and webhook settings."""
        self._call("POST", "/reset")

"""The payment service process: API, outbox relay, refund consumer, reconciler,
and the retention prune of its webhook records and processed-event rows."""

from __future__ import annotations

from datetime import timedelta

from paysim import stack_secrets
from paysim.bootstrap.common import (
    ONE_TRANSACTION_S,
    ServiceProcess,
    consumer_workers,
    periodic_worker,
    relay_worker,
    retention_worker,
    service_engine,
)
from paysim.bus.producer import EventProducer
from paysim.config import Settings
from paysim.gateway.stripe_gateway import StripeGateway
from paysim.services.payment import refund_consumer, webhook_repository
from paysim.services.payment.confirming import PaymentConfirmations
from paysim.services.payment.reconciler import PaymentReconciler
from paysim.services.payment.refunding import PaymentRefunds
from paysim.services.payment.service import PaymentService
from paysim.services.payment.tables import metadata


def build_process(
    settings: Settings,
    *,
    bootstrap_servers: str,
    stripe_api_base: str,
    db_url: str | None = None,
    with_relay: bool = True,
    with_consumer: bool = True,
) -> ServiceProcess:
    from paysim.api.payment_api import create_app

    engine = service_engine(settings, "payment", db_url, metadata)
    gateway = StripeGateway(
        stripe_api_base,
        settings.stripe_api_key.get_secret_value(),
        timeout_s=settings.stripe_timeout_s,
    )
    service = PaymentService(engine, gateway)
    confirmations = PaymentConfirmations(service, gateway)
    refunds = PaymentRefunds(service, gateway)
    producer = EventProducer(bootstrap_servers, client_id="payment-service")
    process = ServiceProcess(producer=producer)
    process.app = create_app(
        service,
        confirmations,
        refunds,
        stack_secrets.resolve(settings).webhook_secret.get_secret_value(),
        dead_workers=process.dead_workers,
    )
    if with_relay:
        process.workers.append(relay_worker(settings, "payment", engine, producer))
    if with_consumer:
        handler = refund_consumer.refund_handler(refunds)
        process.workers += consumer_workers(
            bootstrap_servers,
            refund_consumer.GROUP,
            refund_consumer.TOPICS,
            handler,
            # A refund: its row, the Stripe call with every retry, its outcome. It calls
            # Stripe between its own transactions, so it is not batched: one at a time.
            attempt_limit_s=2 * ONE_TRANSACTION_S + gateway.longest_call_s,
        )
    reconciler = PaymentReconciler(
        service, confirmations, refunds, after=timedelta(seconds=settings.reconcile_after_s)
    )
    process.workers.append(
        periodic_worker("payment-reconciler", settings.reconcile_after_s / 3, reconciler.run_once)
    )
    process.workers.append(
        retention_worker(settings, "payment", engine, webhook_repository.EXPIRING)
    )
    return process

"""The range of every number and the length of every text a client may send paysim.

An input outside its bound is refused with a 4xx before any work is done on it: a huge
number never reaches Decimal arithmetic or the store, a huge text never reaches an
event. The HTTP request models, every service app (``MAX_BODY_BYTES``) and the event
models take their limits from here.
"""

from __future__ import annotations

MAX_AMOUNT_MINOR = 99_999_999
"""Stripe's ceiling for one charge, in minor units: 999,999.99 USD, 99,999,999 JPY,
99,999.999 KWD. Every amount a client or an event names (a payment, a refund, an
order's total) is at most this; sums of many payments (analytics) are not bounded."""

MAX_AMOUNT_DIGITS = len(str(MAX_AMOUNT_MINOR))
"""Significant digits a valid amount can have, whatever its currency's decimals."""

MAX_AMOUNT_TEXT = 32
"""Characters of a decimal amount's text (``"25.99"``): room for zeros a client pads it
with, and far too few for an exponent or digit count that costs anything to parse."""

MAX_ID = 2**63 - 1
"""The largest id the stores hold (a signed 64-bit BIGINT): payment, order, user and
restaurant ids, in bodies, paths and queries alike."""

MAX_REASON_LENGTH = 500
"""Characters of a free-text reason (cancel, refund, restaurant rejection). It travels in
events, so it must stay far below the broker's maximum message size."""

MAX_STRIPE_ID_LENGTH = 255
"""Characters of a Stripe object id a client passes (a PaymentMethod such as
``pm_card_visa``); the store's column is as wide."""

MAX_IDEMPOTENCY_KEY_LENGTH = 200
"""Characters of a client's ``Idempotency-Key`` header. Stripe allows 255; paysim
prefixes the key before storing it in 255-character columns, so it keeps room for that."""

MAX_LIST_LIMIT = 100_000
"""Rows a list endpoint returns at most in one answer: room for every order of a long
load run, which the run's report reads in one call."""

MAX_EVENT_IDS = 200
"""Stripe event ids one lookup of the payment service's webhook records may name."""

MAX_BODY_BYTES = 64 * 1024
"""The largest HTTP request body a service accepts (64 KiB); above it the answer is 413
before the body is read. Every JSON request paysim defines, and a Stripe webhook, fit
many times over."""

MAX_WAIT_MS = 30_000
"""Milliseconds a long-poll (``GET /api/orders/{id}?waitFor=...``) may ask to wait: below
every client timeout paysim sets, so an answer, not a dropped connection, ends a wait."""

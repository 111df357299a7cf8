"""The delivery service: a simulated courier per order, driven by order events and timers."""

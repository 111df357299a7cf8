"""Kafka and stripe-mock for paysim: docker (testcontainers), native, or external."""

from paysim.infra.endpoints import Endpoints
from paysim.infra.stack import StackStatus, down, status, up

__all__ = ["Endpoints", "StackStatus", "down", "status", "up"]

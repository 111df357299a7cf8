"""One root error for paysim, split by whether retrying can help.

Consumers and the retry policy decide on the class alone: a ``TransientError`` is
retried with backoff, a ``PermanentError`` goes to the dead-letter topic at once.
"""


class PaysimError(Exception):
    """Root of every error paysim raises on purpose."""


class TransientError(PaysimError):
    """A failure that may pass if the same operation is tried again later."""


class PermanentError(PaysimError):
    """A failure that will repeat however often the operation is retried."""


class InvalidEventError(PermanentError):
    """A record that cannot be decoded into a known event (poison record)."""


class MoneyError(PermanentError, ValueError):
    """An amount or currency that cannot be represented exactly."""


class InfraError(PaysimError):
    """The broker or stripe-mock could not be started, found or stopped."""

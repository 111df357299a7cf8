"""Pure domain code: money, events and state machines. No Kafka, HTTP or database here."""

"""confluent-kafka adapters: admin, producer, and reading topics back."""

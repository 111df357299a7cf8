"""The order service: orders driven by payment and delivery events, and the saga."""

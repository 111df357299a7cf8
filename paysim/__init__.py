"""paysim: payment events on Apache Kafka, run for real, observed and broken on purpose."""

__version__ = "0.1.0"

"""Metrics, consumer lag, topics as DataFrames, saga timelines."""

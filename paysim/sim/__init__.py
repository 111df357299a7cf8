"""Workloads run against the real stack: demos, simulations, invariants and reports."""

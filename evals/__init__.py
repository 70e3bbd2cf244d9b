"""Offline evaluation harness: datasets, metrics and benchmarks over the public APIs."""

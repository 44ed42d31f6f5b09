"""Benchmark task sets and helpers for evaluating tandem's personalized writing."""

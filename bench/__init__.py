"""Benchmarks of cp247 (results, not timed tests): see bench/README.md."""

"""Benchmarks behind `medinterp bench NAME`: ratios against a baseline measured in the same run."""

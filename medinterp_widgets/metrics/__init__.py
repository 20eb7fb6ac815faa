"""Metrics: segmentation, classification, attribution overlap, group statistics."""

"""Shared pieces of the attribution methods: result type and the CAM base class."""

from .cam import CamInputs, CamMethod
from .result import AttributionResult, RawAttribution

__all__ = ["AttributionResult", "CamInputs", "CamMethod", "RawAttribution"]

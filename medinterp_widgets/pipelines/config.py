"""`PipelineConfig`: the base of every pipeline's ``Config`` dataclass (presets and overrides, once).

    config = Config.from_preset("quick", data_root="/data", device=None)   # device: not given

One override rule for every pipeline: an override replaces the preset's value; ``None`` means "not
given" (the preset's value, else the field's default, stays), so a caller can pass its optional
arguments straight through; a name that is not a field is refused. To set a field to ``None`` that a
preset fills, use ``dataclasses.replace(config, name=None)``. ``preset`` records where a config came
from: the preset's name, or ``"custom"`` for a config built directly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["PipelineConfig"]

C = TypeVar("C", bound="PipelineConfig")


@dataclass
class PipelineConfig:
    """Base dataclass: subclasses add their fields and implement ``presets()``."""

    preset: str = "custom"

    @classmethod
    def presets(cls) -> Mapping[str, Mapping[str, Any]]:
        """The pipeline's presets, ``{name: {field: value}}`` (read at call time, so tests may patch them)."""
        raise NotImplementedError(f"{cls.__name__}.presets(): not defined")

    @classmethod
    def from_preset(cls: type[C], name: str, **overrides: Any) -> C:
        """Preset ``name`` with ``overrides`` applied by the rule in the module docstring."""
        table = cls.presets()
        if name not in table:
            raise ValueError(f"{cls.__module__}.{cls.__name__}.from_preset: got {name!r}, "
                             f"expected one of {sorted(table)}")
        known = {f.name for f in dataclasses.fields(cls)} - {"preset"}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise TypeError(f"{cls.__name__}.from_preset({name!r}): unknown field(s) {unknown}")
        values = {**table[name], **{k: v for k, v in overrides.items() if v is not None}}
        return cls(**values, preset=name)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict (``dataclasses.asdict``); a pipeline may make it JSON-ready its own way."""
        return dataclasses.asdict(self)

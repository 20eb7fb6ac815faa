"""What the kernel sends to the browser: record bokeh document patches and count their bytes.

``jupyter_bokeh.BokehModel`` sends each document change as one bokeh ``PATCH-DOC`` protocol message:
header, metadata and content as JSON, then every numpy array as a separate binary buffer. The same
serialisation here measures exactly those bytes without a browser.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

from bokeh.document import Document
from bokeh.protocol import Protocol


@dataclass
class PatchLog:
    """Document events recorded while a ``record_patches`` block ran."""

    events: list = field(default_factory=list)

    def messages(self):
        protocol = Protocol()
        return [protocol.create("PATCH-DOC", [event]) for event in self.events]

    def json_bytes(self) -> int:
        """UTF-8 bytes of the JSON parts (header + metadata + content) of every message."""
        return sum(len(m.header_json) + len(m.metadata_json) + len(m.content_json) for m in self.messages())

    def buffer_bytes(self) -> int:
        """Bytes of the binary buffers (the pixels) of every message."""
        return sum(len(buffer.to_bytes()) for m in self.messages() for buffer in m.buffers)

    def buffer_dtypes(self) -> list[str]:
        """The dtype of each array sent, as bokeh declares it to the browser."""
        kinds = []
        for message in self.messages():
            kinds += _find_dtypes(message.content)
        return kinds

    def total_bytes(self) -> int:
        return self.json_bytes() + self.buffer_bytes()


def _find_dtypes(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["dtype"]] if node.get("type") == "ndarray" else []
        return found + [d for value in node.values() for d in _find_dtypes(value)]
    if isinstance(node, (list, tuple)):
        return [d for value in node for d in _find_dtypes(value)]
    return []


def document_of(model) -> Document:
    """The bokeh Document holding ``model`` (a new one when it has none yet)."""
    if model.document is None:
        Document().add_root(model)
    return model.document


@contextmanager
def record_patches(model):
    """Record every document change made inside the block: ``with record_patches(fig) as log: ...``."""
    document = document_of(model)
    log = PatchLog()

    def on_change(event) -> None:
        log.events.append(event)

    document.on_change(on_change)
    try:
        yield log
    finally:
        document.remove_on_change(on_change)

"""An ONNX file as an ``nn.Module`` that runs in onnxruntime (an optional extra: ``pip install onnxruntime``).

The graph runs outside torch: no forward hooks, no gradients (``supports_hooks = supports_gradients =
False``, ``model_kind = "ONNX"``), so attribution offers the perturbation methods only (occlusion, RISE;
``attribution.methods.model_access``). ``forward`` takes a float tensor (B, C, *S), runs it on the CPU
(or CUDA when onnxruntime has it and the input is there) and returns the first output as a tensor on
x's device. A graph exported with a fixed batch size gets the batch in chunks of that size.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch import Tensor, nn

from medinterp_widgets.data.errors import CheckpointError

__all__ = ["OnnxModel"]


def _session(path: str, cuda: bool):
    try:
        import onnxruntime
    except ImportError as error:
        raise ImportError(f"{path}: opening an ONNX model needs onnxruntime (pip install onnxruntime)") from error
    providers = ["CPUExecutionProvider"]
    if cuda and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = max(1, torch.get_num_threads())
    try:
        return onnxruntime.InferenceSession(path, sess_options=options, providers=providers)
    except Exception as error:  # onnxruntime raises its own exception types for a broken file
        raise CheckpointError(path, f"not a readable ONNX model ({type(error).__name__}: {error})") from error


class OnnxModel(nn.Module):
    """``OnnxModel(path)``: the ONNX graph's first input -> first output, as a torch module."""

    model_kind = "ONNX"
    supports_hooks = False
    supports_gradients = False

    def __init__(self, path: str | os.PathLike, cuda: bool = False):
        super().__init__()
        self.path = str(path)
        self.session = _session(self.path, cuda)
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or not outputs:
            raise CheckpointError(self.path, f"inputs: the graph has {len(inputs)} inputs and {len(outputs)} outputs; "
                                             "expected one image input (B, C, *S) and at least one output")
        self.input_name, self.output_name = inputs[0].name, outputs[0].name
        shape = inputs[0].shape
        if len(shape) not in (4, 5):
            raise CheckpointError(self.path, f"input {self.input_name!r}: shape {shape}; expected (B, C, H, W) or "
                                             "(B, C, D, H, W)")
        self.input_shape = tuple(shape)
        self.fixed_batch = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None
        self.in_channels = shape[1] if isinstance(shape[1], int) else 1

    def extra_repr(self) -> str:
        return f"{self.path!r}, input {self.input_name} {list(self.input_shape)}"

    def _run(self, array: np.ndarray) -> np.ndarray:
        return self.session.run([self.output_name], {self.input_name: array})[0]

    def forward(self, x: Tensor) -> Tensor:
        array = x.detach().to("cpu", torch.float32).numpy()
        step = self.fixed_batch or len(array)
        outputs = [self._run(np.ascontiguousarray(array[i:i + step])) for i in range(0, len(array), step)]
        return torch.from_numpy(np.concatenate(outputs)).to(x.device)

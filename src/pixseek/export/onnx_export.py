"""torch.nn.Module -> ONNX file with a dynamic batch axis, opset 17."""

from __future__ import annotations

from pathlib import Path

import torch

OPSET = 17


def export_batch_dynamic(
    module: torch.nn.Module, example: torch.Tensor, path: Path, *, input_name: str, output_name: str
) -> None:
    # The TorchScript exporter (dynamo=False) needs no onnxscript and handles open_clip's towers.
    # nn.MultiheadAttention's inference fast path is a fused op with no ONNX equivalent: turn it off.
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        _export(module, example, path, input_name, output_name)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


def _export(
    module: torch.nn.Module, example: torch.Tensor, path: Path, input_name: str, output_name: str
) -> None:
    with torch.no_grad():
        torch.onnx.export(
            module,
            (example,),
            str(path),
            input_names=[input_name],
            output_names=[output_name],
            dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )

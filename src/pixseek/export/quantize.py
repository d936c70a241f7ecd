"""`pixseek models quantize`: an int8 copy of a pack, by ONNX Runtime dynamic quantization.

Weights become int8 (per output channel); activations are quantized on the fly at run time, so no
calibration set is needed. The copy is a pack of its own: new graph files and sha256s (hence a new
`model_id`, so a store never mixes its vectors with the fp32 pack's), each manifest's
`exported_with["quantized"]` saying how, and every other file hard-linked (or copied) unchanged.
Needs onnxruntime and onnx, both runtime dependencies: it runs without torch.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from pixseek.models.pack_manifest import (
    MANIFEST_FILE,
    PACK_FILE,
    ModelPackFiles,
    OnnxGraph,
    file_sha256,
    write_spec,
)

QUANTIZABLE = ("image_encoder", "detector", "text_encoder")
# The ingest path: what `pixseek index` runs per image. The text encoder serves queries; quantize
# it too by naming it.
DEFAULT_GRAPHS = ("image_encoder", "detector")
# MatMul/Gemm only: ONNX Runtime's ConvInteger kernels are slower than its fp32 convolutions on
# CPU (measured: benchmarks/bench_quantized.py), so convolutions stay fp32.
DEFAULT_OP_TYPES = ("MatMul", "Gemm")


def quantize_pack(
    source: Path,
    out: Path,
    graphs: Sequence[str] = DEFAULT_GRAPHS,
    op_types: Sequence[str] = DEFAULT_OP_TYPES,
) -> list[str]:
    """Write an int8 copy of the pack at `source` into `out` (which must not exist yet)."""
    unknown = sorted(set(graphs) - set(QUANTIZABLE))
    if unknown or not graphs:
        raise ValueError(f"cannot quantize {unknown or 'nothing'}: choose from {', '.join(QUANTIZABLE)}")
    if out.exists():
        raise ValueError(f"{out} exists: choose a new directory for the int8 pack")
    files = ModelPackFiles(source)
    from onnxruntime import __version__ as ort_version
    from onnxruntime.quantization import QuantType, quantize_dynamic  # imports onnx

    _link_tree(source, out)
    copy = ModelPackFiles(out)
    ops = "/".join(op_types)
    how = f"int8 dynamic (onnxruntime {ort_version} quantize_dynamic, QInt8 per-channel, ops {ops})"
    written: list[str] = []
    embedder = files.embedder.model_copy()
    detector = files.detector.model_copy()
    for role in graphs:
        graph, directory = _graph(files, role), copy.embedder_dir if role != "detector" else copy.detector_dir
        target = directory / _int8_name(graph.file)
        (directory / graph.file).unlink()  # the hard link to the fp32 graph
        quantize_dynamic(
            _source_path(files, role),
            target,
            op_types_to_quantize=list(op_types),
            per_channel=True,
            weight_type=QuantType.QInt8,
        )
        updated = graph.model_copy(
            update={"file": target.name, "sha256": file_sha256(target), "batch_invariant": False}
        )
        if role == "detector":
            detector = detector.model_copy(update={"graph": updated})
        else:
            embedder = embedder.model_copy(update={role: updated})
        written.append(f"{role}: {_source_path(files, role).name} -> {target}")
    if any(role != "detector" for role in graphs):
        quantized = ", ".join(role for role in graphs if role != "detector")
        tagged = {**embedder.exported_with, "quantized": f"{how}: {quantized}"}
        embedder = embedder.model_copy(update={"exported_with": tagged})
    if "detector" in graphs:
        detector = detector.model_copy(update={"exported_with": {**detector.exported_with, "quantized": how}})
    for directory, manifest in ((copy.embedder_dir, embedder), (copy.detector_dir, detector)):
        (directory / MANIFEST_FILE).unlink()  # a hard link to the source's: never write through it
        write_spec(directory / MANIFEST_FILE, manifest)
    ModelPackFiles(out)  # the copy validates: every named file is there
    return written


def _graph(files: ModelPackFiles, role: str) -> OnnxGraph:
    if role == "detector":
        return files.detector.graph
    return files.embedder.image_encoder if role == "image_encoder" else files.embedder.text_encoder


def _source_path(files: ModelPackFiles, role: str) -> Path:
    paths = {"image_encoder": files.image_encoder_path, "text_encoder": files.text_encoder_path}
    return paths.get(role, files.detector_path)


def _int8_name(name: str) -> str:
    path = Path(name)
    return f"{path.stem}.int8{path.suffix}"


def _link_tree(source: Path, out: Path) -> None:
    """Hard links where the file system allows (graphs are hundreds of MB), copies otherwise."""

    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, out, copy_function=link_or_copy)
    if not (out / PACK_FILE).is_file():
        raise ValueError(f"{source} is not a pack directory (no {PACK_FILE})")

"""`pixseek triton repo`: a Triton model repository serving one exported pack.

Models: `image_encoder`, `text_encoder`, `detector` (the pack's graphs), `preprocess` and
`box_embed` (python), and the ensemble `yolo_mobileclip_ensemble`:

    encoded_images -> preprocess -> detector_input -> detector -> raw_detections --+
                                 -> embedder_input -> image_encoder -> global_embeddings
                                 -> letterbox ----------------------------------------+-> box_embed
    box_embed -> num_dets, det_boxes, det_scores, det_classes, box_embeddings (crops via image_encoder)

Flavours: `python` runs the graphs with ONNX Runtime inside python-backend models (for the CPU
tritonserver of the nvidia-pytriton wheel, which has no onnxruntime backend); `gpu` uses
`onnxruntime_onnx` on GPU instances, or `tensorrt_plan` for graphs given as TensorRT plans.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from pixseek.models.pack_manifest import PACK_FILE, ModelPackFiles
from pixseek.triton import names
from pixseek.triton.letterbox_tensor import ROW_LENGTH
from pixseek.triton.model_config import (
    Batching,
    EnsembleStep,
    ModelConfig,
    TensorSpec,
    ensemble_scheduling,
)

Flavour = Literal["python", "gpu"]
VERSION = "1"
_PYTHON_MODELS = "pixseek.triton.python_models"


@dataclass(frozen=True)
class RepositoryOptions:
    flavour: Flavour = "python"
    # Largest batches: the TensorRT profiles are built for the same ranges (see tensorrt.py).
    image_batch: int = 128
    text_batch: int = 64
    detector_batch: int = 32
    ensemble_batch: int = 32
    queue_delay_us: int = 2000
    max_image_pixels: int = 64_000_000
    onnx_providers: str = "auto"  # python flavour: ONNX Runtime providers inside the models
    plans: Path | None = None  # gpu flavour: directory of <model>.plan files from `triton trt-build`


def write_repository(pack_dir: Path, out: Path, options: RepositoryOptions) -> list[str]:
    """Write the repository into `out` (replacing models of the same names); returns model names."""
    files = ModelPackFiles(pack_dir)
    graphs = {
        names.IMAGE_ENCODER: files.image_encoder_path,
        names.TEXT_ENCODER: files.text_encoder_path,
        names.DETECTOR: files.detector_path,
    }
    configs = [*_graph_configs(files, options), *_python_configs(files, options), _ensemble(files, options)]
    for config in configs:
        model_dir = out / config.name
        shutil.rmtree(model_dir, ignore_errors=True)
        (model_dir / VERSION).mkdir(parents=True)
        (model_dir / "config.pbtxt").write_text(config.render(), encoding="utf-8")
        if config.name in graphs:
            _place_graph(config, graphs[config.name], model_dir / VERSION, options)
        elif config.backend == "python":
            _place_python_model(config.name, files, model_dir / VERSION)
    return [config.name for config in configs]


def _graph_configs(files: ModelPackFiles, options: RepositoryOptions) -> list[ModelConfig]:
    embedder, detector = files.embedder, files.detector
    size, dim = embedder.image.size, embedder.dim
    specs = [
        (
            names.IMAGE_ENCODER,
            TensorSpec(embedder.image_encoder.input, "TYPE_FP32", (3, size, size)),
            TensorSpec(embedder.image_encoder.output, "TYPE_FP32", (dim,)),
            options.image_batch,
        ),
        (
            names.TEXT_ENCODER,
            TensorSpec(embedder.text_encoder.input, "TYPE_INT64", (embedder.tokenizer.context_length,)),
            TensorSpec(embedder.text_encoder.output, "TYPE_FP32", (dim,)),
            options.text_batch,
        ),
        (
            names.DETECTOR,
            TensorSpec(detector.graph.input, "TYPE_FP32", (3, detector.input.height, detector.input.width)),
            TensorSpec(detector.graph.output, "TYPE_FP32", (-1, -1)),  # layout per output_format
            options.detector_batch,
        ),
    ]
    return [
        _graph_model(name, tensor_in, tensor_out, max_batch, options)
        for name, tensor_in, tensor_out, max_batch in specs
    ]


def _graph_model(
    name: str, tensor_in: TensorSpec, tensor_out: TensorSpec, max_batch: int, options: RepositoryOptions
) -> ModelConfig:
    """A graph runs as ONNX Runtime in python, in Triton's onnxruntime backend, or as TensorRT."""
    batching = Batching(max_batch, preferred=(8, 16, 32, 64), max_queue_delay_us=options.queue_delay_us)
    config = ModelConfig(name, [tensor_in], [tensor_out], batching)
    if options.flavour == "python":
        return replace(config, backend="python", parameters={"onnx_providers": options.onnx_providers})
    if options.plans is not None and (options.plans / f"{name}.plan").is_file():
        return replace(config, platform="tensorrt_plan", kind="KIND_GPU")
    return replace(config, platform="onnxruntime_onnx", kind="KIND_GPU")


def _python_configs(files: ModelPackFiles, options: RepositoryOptions) -> list[ModelConfig]:
    embedder, detector = files.embedder, files.detector
    size, dim = embedder.image.size, embedder.dim
    batching = Batching(
        options.ensemble_batch, preferred=(8, 16, 32), max_queue_delay_us=options.queue_delay_us
    )
    pixels = {"max_image_pixels": str(options.max_image_pixels)}
    encoded = TensorSpec(names.ENCODED_IMAGES, "TYPE_STRING", (1,))
    preprocess = ModelConfig(
        name=names.PREPROCESS,
        backend="python",
        inputs=[encoded],
        outputs=[
            TensorSpec(names.DETECTOR_INPUT, "TYPE_FP32", (3, detector.input.height, detector.input.width)),
            TensorSpec(names.EMBEDDER_INPUT, "TYPE_FP32", (3, size, size)),
            TensorSpec(names.LETTERBOX, "TYPE_FP64", (ROW_LENGTH,)),
        ],
        batching=batching,
        parameters=pixels,
    )
    box_embed = ModelConfig(
        name=names.BOX_EMBED,
        backend="python",
        inputs=[
            encoded,
            TensorSpec(names.RAW_DETECTIONS, "TYPE_FP32", (-1, -1)),
            TensorSpec(names.LETTERBOX, "TYPE_FP64", (ROW_LENGTH,)),
            TensorSpec(names.MIN_CONFIDENCE, "TYPE_FP32", (1,)),
            TensorSpec(names.MAX_OBJECTS, "TYPE_INT32", (1,)),
        ],
        outputs=_detection_outputs(dim),
        batching=batching,
        parameters={**pixels, "image_encoder_max_batch": str(options.image_batch)},
    )
    return [preprocess, box_embed]


def _detection_outputs(dim: int) -> list[TensorSpec]:
    return [
        TensorSpec(names.NUM_DETS, "TYPE_INT32", (1,)),
        TensorSpec(names.DET_BOXES, "TYPE_FP32", (-1, 4)),
        TensorSpec(names.DET_SCORES, "TYPE_FP32", (-1,)),
        TensorSpec(names.DET_CLASSES, "TYPE_INT32", (-1,)),
        TensorSpec(names.BOX_EMBEDDINGS, "TYPE_FP32", (-1, dim)),
    ]


def _ensemble(files: ModelPackFiles, options: RepositoryOptions) -> ModelConfig:
    embedder, detector = files.embedder, files.detector
    steps = [
        EnsembleStep(
            names.PREPROCESS,
            {names.ENCODED_IMAGES: names.ENCODED_IMAGES},
            {name: name for name in (names.DETECTOR_INPUT, names.EMBEDDER_INPUT, names.LETTERBOX)},
        ),
        EnsembleStep(
            names.DETECTOR,
            {detector.graph.input: names.DETECTOR_INPUT},
            {detector.graph.output: names.RAW_DETECTIONS},
        ),
        EnsembleStep(
            names.IMAGE_ENCODER,
            {embedder.image_encoder.input: names.EMBEDDER_INPUT},
            {embedder.image_encoder.output: names.GLOBAL_EMBEDDINGS},
        ),
        EnsembleStep(
            names.BOX_EMBED,
            {
                name: name
                for name in (
                    names.ENCODED_IMAGES,
                    names.RAW_DETECTIONS,
                    names.LETTERBOX,
                    names.MIN_CONFIDENCE,
                    names.MAX_OBJECTS,
                )
            },
            {tensor.name: tensor.name for tensor in _detection_outputs(embedder.dim)},
        ),
    ]
    return ModelConfig(
        name=names.ENSEMBLE,
        platform="ensemble",
        inputs=[
            TensorSpec(names.ENCODED_IMAGES, "TYPE_STRING", (1,)),
            TensorSpec(names.MIN_CONFIDENCE, "TYPE_FP32", (1,)),
            TensorSpec(names.MAX_OBJECTS, "TYPE_INT32", (1,)),
        ],
        outputs=[
            *_detection_outputs(embedder.dim),
            TensorSpec(names.GLOBAL_EMBEDDINGS, "TYPE_FP32", (embedder.dim,)),
        ],
        batching=Batching(options.ensemble_batch),
        parameters={names.PACK_MODEL_ID: files.model_id},
        extra=ensemble_scheduling(steps),
    )


def _place_graph(config: ModelConfig, graph: Path, version_dir: Path, options: RepositoryOptions) -> None:
    if config.platform == "tensorrt_plan" and options.plans is not None:
        shutil.copyfile(options.plans / f"{config.name}.plan", version_dir / "model.plan")
        return
    _link_or_copy(graph, version_dir / "model.onnx")
    if config.backend == "python":
        _write_model_py(version_dir, "onnx_model")


def _place_python_model(name: str, files: ModelPackFiles, version_dir: Path) -> None:
    module = {names.PREPROCESS: "preprocess_model", names.BOX_EMBED: "box_embed_model"}[name]
    _write_model_py(version_dir, module)
    shutil.copyfile(files.root / PACK_FILE, version_dir / names.PACK_SPEC_FILE)
    shutil.copyfile(files.embedder_dir / "manifest.json", version_dir / names.EMBEDDER_MANIFEST_FILE)
    shutil.copyfile(files.detector_dir / "manifest.json", version_dir / names.DETECTOR_MANIFEST_FILE)


def _write_model_py(version_dir: Path, module: str) -> None:
    # The model's code lives in the pixseek package installed in Triton's python environment,
    # so a repository never carries a stale copy of it.
    (version_dir / "model.py").write_text(
        f'"""Generated by `pixseek triton repo`."""\n\n'
        f"from {_PYTHON_MODELS}.{module} import TritonPythonModel\n\n"
        f'__all__ = ["TritonPythonModel"]\n',
        encoding="utf-8",
    )


def _link_or_copy(source: Path, target: Path) -> None:
    """Hard-link large graphs when on the same file system; copy otherwise."""
    try:
        target.hardlink_to(source.resolve())
    except OSError:
        shutil.copyfile(source, target)

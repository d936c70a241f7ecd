"""`pixseek triton trt-build`: TensorRT plans of a pack's graphs, and their timings.

Each graph gets one optimization profile over the batch axis (images 1..128, text 1..64,
detector 1..32, the same ranges as the Triton configs) and FP16 kernels where allowed. Plans are
specific to the GPU model and TensorRT version that built them: build on the serving machine.
trtexec builds and times each plan; without trtexec, the TensorRT Python API (`pip install
tensorrt`) builds them and only the build time is reported (time them with benchmarks/gpu.py).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pixseek.models.pack_manifest import ModelPackFiles
from pixseek.triton import names

# Where NVIDIA's containers and Debian packages put trtexec when it is not on PATH.
_TRTEXEC_PLACES = ("/usr/src/tensorrt/bin/trtexec", "/usr/local/tensorrt/bin/trtexec")
_TIMING = re.compile(r"(Throughput: [\d.]+ qps|GPU Compute Time: .*)")


@dataclass(frozen=True)
class PlanSpec:
    model: str  # Triton model name; the plan is written as <model>.plan
    onnx: Path
    input_name: str
    item_shape: tuple[int, ...]  # one batch row
    min_batch: int
    opt_batch: int
    max_batch: int

    def shape(self, batch: int) -> str:
        return "x".join(map(str, (batch, *self.item_shape)))

    def trtexec_args(self, plan: Path, fp16: bool, workspace_mib: int) -> list[str]:
        args = [
            f"--onnx={self.onnx}",
            f"--saveEngine={plan}",
            f"--minShapes={self.input_name}:{self.shape(self.min_batch)}",
            f"--optShapes={self.input_name}:{self.shape(self.opt_batch)}",
            f"--maxShapes={self.input_name}:{self.shape(self.max_batch)}",
            f"--memPoolSize=workspace:{workspace_mib}M",
        ]
        return [*args, "--fp16"] if fp16 else args


def plan_specs(
    files: ModelPackFiles, image_batch: int = 128, text_batch: int = 64, detector_batch: int = 32
) -> list[PlanSpec]:
    embedder, detector = files.embedder, files.detector
    size = embedder.image.size
    return [
        PlanSpec(names.IMAGE_ENCODER, files.image_encoder_path, embedder.image_encoder.input,
                 (3, size, size), 1, min(32, image_batch), image_batch),
        PlanSpec(names.TEXT_ENCODER, files.text_encoder_path, embedder.text_encoder.input,
                 (embedder.tokenizer.context_length,), 1, min(8, text_batch), text_batch),
        PlanSpec(names.DETECTOR, files.detector_path, detector.graph.input,
                 (3, detector.input.height, detector.input.width), 1, min(8, detector_batch), detector_batch),
    ]  # fmt: skip


def find_trtexec(explicit: str | None = None) -> str | None:
    """trtexec's path; None when absent (then the TensorRT Python API builds the plans)."""
    if explicit is not None and not Path(explicit).is_file():
        raise FileNotFoundError(f"no trtexec at {explicit}")
    for candidate in (explicit, shutil.which("trtexec"), *_TRTEXEC_PLACES):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


PROFILES_FILE = "profiles.json"  # beside the plans: each plan's largest batch, read by `triton repo`


def build_plans(
    files: ModelPackFiles,
    out: Path,
    *,
    trtexec: str | None,
    fp16: bool = True,
    workspace_mib: int = 4096,
    detector_batch: int = 32,
) -> dict[str, list[str]]:
    """Build every plan into `out`; returns timing lines per model."""
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, list[str]] = {}
    specs = plan_specs(files, detector_batch=detector_batch)
    for spec in specs:
        plan = out / f"{spec.model}.plan"
        if trtexec is None:
            timings[spec.model] = [build_with_python_api(spec, plan, fp16, workspace_mib)]
        else:
            timings[spec.model] = build_with_trtexec(trtexec, spec, plan, fp16, workspace_mib)
    profiles = {spec.model: spec.max_batch for spec in specs}
    (out / PROFILES_FILE).write_text(json.dumps(profiles, indent=2) + "\n", encoding="utf-8")
    return timings


def plan_max_batches(plans: Path) -> dict[str, int]:
    """The largest batch of each plan in `plans`, as `build_plans` recorded it (defaults without)."""
    recorded = plans / PROFILES_FILE
    if recorded.is_file():
        return {str(name): int(batch) for name, batch in json.loads(recorded.read_text()).items()}
    return {names.IMAGE_ENCODER: 128, names.TEXT_ENCODER: 64, names.DETECTOR: 32}


def build_with_trtexec(trtexec: str, spec: PlanSpec, plan: Path, fp16: bool, workspace_mib: int) -> list[str]:
    """Build, then let trtexec benchmark at the opt shape; its throughput and GPU time lines."""
    command = [trtexec, *spec.trtexec_args(plan, fp16, workspace_mib)]
    print("+", " ".join(command), flush=True)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    log = plan.with_suffix(".trtexec.log")
    log.write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode != 0 or not plan.is_file():
        raise RuntimeError(f"trtexec failed for {spec.model}; see {log}")
    return [f"batch {spec.opt_batch}: {m.group(1)}" for m in _TIMING.finditer(done.stdout)]


def build_with_python_api(spec: PlanSpec, plan: Path, fp16: bool, workspace_mib: int) -> str:
    import tensorrt as trt  # only on GPU machines

    started = time.perf_counter()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # TensorRT 10: explicit batch is the only mode
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(spec.onnx)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT could not parse {spec.onnx}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mib << 20)
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    profile.set_shape(
        spec.input_name,
        (spec.min_batch, *spec.item_shape),
        (spec.opt_batch, *spec.item_shape),
        (spec.max_batch, *spec.item_shape),
    )
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"TensorRT failed to build {spec.model}")
    plan.write_bytes(bytes(serialized))
    return f"built with the TensorRT {trt.__version__} Python API in {time.perf_counter() - started:.1f} s"

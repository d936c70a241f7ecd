"""`pixseek triton repo` (model repository for a pack) and `pixseek triton trt-build` (TensorRT plans)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pixseek.cli.common import fail, positive_int
from pixseek.models.pack_manifest import ModelPackFiles, PackFormatError


def register(subparsers: argparse._SubParsersAction) -> None:
    triton = subparsers.add_parser(
        "triton", help="prepare a model pack for NVIDIA Triton (scripts/triton-server.sh starts it)"
    )
    commands = triton.add_subparsers(dest="triton_command", metavar="COMMAND", required=True)

    p = commands.add_parser(
        "repo",
        help="write a Triton model repository for a pack",
        description="Write image/text encoders, detector, preprocess and box_embed models and the "
        "yolo_mobileclip_ensemble for an exported pack.",
    )
    p.add_argument("--pack", type=Path, required=True, help="exported pack directory")
    p.add_argument("--out", type=Path, required=True, help="model repository to write")
    p.add_argument("--flavour", choices=["python", "gpu"], default="python",
                   help="python: ONNX Runtime inside python models (CPU tritonserver); "
                        "gpu: onnxruntime_onnx / tensorrt_plan models")  # fmt: skip
    p.add_argument("--plans", type=Path, help="gpu flavour: directory of .plan files from trt-build")
    p.add_argument("--onnx-providers", default="auto", help="python flavour: auto, cpu or cuda")
    p.add_argument(
        "--max-batch",
        type=positive_int,
        default=32,
        help="largest batch of the ensemble, detector, preprocess and box_embed models "
        "(at most 128, the image encoder's; with --plans, at most the detector plan's)",
    )
    p.add_argument(
        "--max-image-pixels",
        type=positive_int,
        default=None,
        help="largest image the preprocess models decode ($PIXSEEK_MAX_IMAGE_PIXELS)",
    )
    p.set_defaults(func=cmd_repo)

    p = commands.add_parser(
        "trt-build",
        help="build TensorRT plans for a pack's graphs (GPU machine)",
        description="Run trtexec on each graph with a batch optimization profile (images 1..128, "
        "text 1..64, detector 1..32), FP16 by default; prints trtexec's timings.",
    )
    p.add_argument("--pack", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="directory for <model>.plan files")
    p.add_argument("--fp32", action="store_true", help="no FP16 kernels")
    p.add_argument("--trtexec", help="path of trtexec (default: PATH, then TensorRT's usual places)")
    p.add_argument("--workspace-mib", type=positive_int, default=4096)
    p.add_argument(
        "--max-batch",
        type=positive_int,
        default=32,
        help="largest detector batch of its plan (use the same with `triton repo`)",
    )
    p.set_defaults(func=cmd_trt_build)


def cmd_repo(args: argparse.Namespace) -> int:
    from pixseek.config import Settings
    from pixseek.triton.names import DETECTOR
    from pixseek.triton.repository import RepositoryOptions, write_repository
    from pixseek.triton.tensorrt import plan_max_batches

    options = RepositoryOptions(
        flavour=args.flavour,
        plans=args.plans,
        onnx_providers=args.onnx_providers,
        detector_batch=args.max_batch,
        ensemble_batch=args.max_batch,
        max_image_pixels=args.max_image_pixels or Settings().max_image_pixels,
    )
    # Triton refuses an ensemble batching more than one of its steps, or a plan config over its profile.
    if args.max_batch > options.image_batch:
        return fail(f"--max-batch {args.max_batch} exceeds the image encoder's {options.image_batch}")
    if args.plans is not None and args.max_batch > (planned := plan_max_batches(args.plans)[DETECTOR]):
        return fail(f"--max-batch {args.max_batch} exceeds the detector plan's profile ({planned}): "
                    f"build the plans with `triton trt-build --max-batch {args.max_batch}`")  # fmt: skip
    try:
        models = write_repository(args.pack, args.out, options)
    except PackFormatError as error:
        return fail(str(error))
    print(f"wrote {', '.join(models)} to {args.out}")
    return 0


def cmd_trt_build(args: argparse.Namespace) -> int:
    from pixseek.triton.tensorrt import build_plans, find_trtexec

    try:
        files = ModelPackFiles(args.pack)
        trtexec = find_trtexec(args.trtexec)
        timings = build_plans(files, args.out, trtexec=trtexec, fp16=not args.fp32,
                              workspace_mib=args.workspace_mib, detector_batch=args.max_batch)  # fmt: skip
    except (PackFormatError, FileNotFoundError, RuntimeError) as error:
        return fail(str(error))
    for model, lines in timings.items():
        print(f"{model}:")
        for line in lines:
            print(f"  {line}")
    return 0

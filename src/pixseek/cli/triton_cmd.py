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
    p.add_argument("--max-batch", type=positive_int, default=32, help="largest ensemble/detector batch")
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
    p.set_defaults(func=cmd_trt_build)


def cmd_repo(args: argparse.Namespace) -> int:
    from pixseek.triton.repository import RepositoryOptions, write_repository

    options = RepositoryOptions(
        flavour=args.flavour,
        plans=args.plans,
        onnx_providers=args.onnx_providers,
        detector_batch=args.max_batch,
        ensemble_batch=args.max_batch,
    )
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
                              workspace_mib=args.workspace_mib)  # fmt: skip
    except (PackFormatError, FileNotFoundError, RuntimeError) as error:
        return fail(str(error))
    for model, lines in timings.items():
        print(f"{model}:")
        for line in lines:
            print(f"  {line}")
    return 0

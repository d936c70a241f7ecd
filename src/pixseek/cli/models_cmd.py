"""`pixseek models export` and `quantize` (need the export environment) and `pixseek models info`."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from pixseek.cli.common import fail, positive_int, print_json
from pixseek.models.loader import STARTER
from pixseek.models.pack_manifest import ModelPackFiles, PackFormatError

EXPORT_ENV_HINT = "run scripts/setup-export-env.sh and use .venv-export/bin/pixseek"


def register(subparsers: argparse._SubParsersAction) -> None:
    models = subparsers.add_parser("models", help="export and inspect model packs")
    commands = models.add_subparsers(dest="models_command", metavar="COMMAND", required=True)

    p = commands.add_parser(
        "export",
        help="export models to an ONNX pack directory (torch needed)",
        description="Export a CLIP-style embedder (e.g. mobileclip2-s2, any open_clip model name) "
        "and/or a YOLO detector (yolo11n/s/m, yolo26n/s/m) to ONNX, verify against PyTorch and "
        "write manifests into --out.",
    )
    p.add_argument("names", nargs="+", metavar="MODEL")
    p.add_argument("--out", type=Path, required=True, help="pack directory to write")
    p.add_argument("--checkpoint", type=Path, help="local weights for the embedder (or a lone detector)")
    p.add_argument("--detector-checkpoint", type=Path, help="local ultralytics .pt weights")
    p.add_argument("--pretrained-tag", help="open_clip pretrained tag (downloads from the hub)")
    p.add_argument("--random-weights", action="store_true", help="random initialisation (tests)")
    p.add_argument("--detector-size", type=positive_int, default=640, help="detector input side in pixels")
    p.set_defaults(func=cmd_export)

    p = commands.add_parser(
        "quantize",
        help="write an int8 copy of a pack (ONNX Runtime dynamic quantization; onnx needed)",
        description="Quantize a pack's graphs to int8 weights (dynamic quantization) into a new pack "
        "directory; other files are hard-linked. The result runs with onnxruntime alone.",
    )
    p.add_argument("pack", type=Path, help="pack directory to read")
    p.add_argument("--out", type=Path, required=True, help="new pack directory to write")
    p.add_argument(
        "--graphs",
        default="image_encoder,detector",
        help="comma-separated: image_encoder, detector, text_encoder (default: the ingest graphs)",
    )
    p.set_defaults(func=cmd_quantize)

    p = commands.add_parser("info", help="describe a pack directory", description="Describe a pack.")
    p.add_argument("pack", type=Path)
    p.add_argument("--verify", action="store_true", help="check each graph's sha256 (reads every file)")
    p.add_argument("--json", action="store_true", help="machine-readable JSON output")
    p.set_defaults(func=cmd_info)


def cmd_export(args: argparse.Namespace) -> int:
    try:
        from pixseek.export.pack_export import ExportRequest, export_pack
    except ModuleNotFoundError as error:
        return fail(f"export needs {error.name}: {EXPORT_ENV_HINT}")
    request = ExportRequest(
        names=args.names,
        out=args.out,
        random_weights=args.random_weights,
        checkpoint=args.checkpoint,
        detector_checkpoint=args.detector_checkpoint,
        pretrained_tag=args.pretrained_tag,
        detector_size=args.detector_size,
    )
    try:
        written = export_pack(request)
    except (ValueError, FileNotFoundError) as error:
        return fail(str(error))
    for line in written:
        print(line)
    return 0


def cmd_quantize(args: argparse.Namespace) -> int:
    from pixseek.export.quantize import quantize_pack

    graphs = [name.strip() for name in args.graphs.split(",") if name.strip()]
    try:
        written = quantize_pack(args.pack, args.out, graphs)
    except ValueError as error:  # PackFormatError included
        return fail(str(error))
    for line in written:
        print(line)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    if str(args.pack) == STARTER and not args.pack.is_dir():
        return fail("the starter pack is built in, not a pack directory: `pixseek info` describes it")
    try:
        files = ModelPackFiles(args.pack)
    except PackFormatError as error:
        return fail(str(error))
    embedder, detector = files.embedder, files.detector
    info: dict[str, object] = {
        "model_id": files.model_id,
        "embedder": {
            "model_id": embedder.model_id,
            "source": embedder.source,
            "weights": embedder.weights,
            "dim": embedder.dim,
            "image": embedder.image.model_dump(),
            "context_length": embedder.tokenizer.context_length,
            "licence": embedder.licence,
        },
        "detector": {
            "model_id": detector.model_id,
            "source": detector.source,
            "weights": detector.weights,
            "input": detector.input.model_dump(),
            "output_format": detector.output_format,
            "classes": len(detector.class_names),
            "licence": detector.licence,
        },
    }
    if args.verify:
        info["modified_graphs"] = files.unverified_graphs()
    if args.json:
        print_json(info)
    else:
        _print_tree(info)
    return 1 if info.get("modified_graphs") else 0


def _print_tree(info: Mapping[str, object], indent: str = "") -> None:
    for key, value in info.items():
        if isinstance(value, dict):
            print(f"{indent}{key}:")
            _print_tree(value, indent + "  ")
        else:
            print(f"{indent}{key}: {value}")

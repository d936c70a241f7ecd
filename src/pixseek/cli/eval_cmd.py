"""`pixseek eval`: retrieval recall on a captioned image set and zero-shot accuracy on a labeled folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from pixseek.cli.common import fail, positive_int, print_json, settings_from_args
from pixseek.eval.datasets import read_caption_set, read_labeled_set
from pixseek.eval.evaluate import PROMPT, evaluate_captions, evaluate_zero_shot
from pixseek.ingest.decode import ImageDecodeError
from pixseek.models.loader import PackUnavailable, load_pack

DESCRIPTION = """\
Measure a model pack's quality, in memory (no store is read or written):
  --captions: text->image and image->text recall@1/5/10 of a captioned image set: a CSV with a header
    naming `file` (or `image`) and `caption` columns, Flickr30k's results.csv or captions.txt, or a
    COCO captions JSON; images are looked up in --images (default: the file's folder). Several
    captions per image: each caption is a text query; an image query counts when any caption ranks.
  --labeled: zero-shot top-1/top-5 accuracy over folder/<class>/<images>, prompts "a photo of a {}".
Published figures use fixed test splits (Flickr30k 1k, COCO 5k Karpathy test): pass those files."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval",
        help="measure retrieval recall and zero-shot accuracy of a model pack",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--captions", type=Path, help="captions file: CSV, Flickr30k results.csv or COCO JSON")
    p.add_argument("--images", type=Path, help="folder of the captioned images")
    p.add_argument("--limit", type=positive_int, help="only the first N captioned images")
    p.add_argument("--labeled", type=Path, help="folder of class folders of images")
    p.add_argument("--prompt", default=PROMPT, help=f"zero-shot prompt template (default {PROMPT!r})")
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--pack", help="model pack: 'starter' or a model directory ($PIXSEEK_MODELS)")
    p.add_argument("--json", action="store_true", help="machine-readable JSON output")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    if args.captions is None and args.labeled is None:
        return fail("give --captions FILE and/or --labeled FOLDER")
    if "{}" not in args.prompt:
        return fail("--prompt must contain {} where the class name goes")
    try:
        settings = settings_from_args(args)
        captions = read_caption_set(args.captions, args.images, args.limit) if args.captions else None
        labeled = read_labeled_set(args.labeled) if args.labeled else None
        pack = load_pack(settings)
        report: dict[str, Any] = {"pack": pack.info.model_id}
        with tqdm(unit="item", file=sys.stderr, disable=args.no_progress or None) as bar:
            if captions is not None:
                bar.total = len(captions.images) + len(captions.captions)
                report["captions"] = evaluate_captions(
                    pack, captions, settings.max_image_pixels, args.batch_size, bar.update
                )
            if labeled is not None:
                bar.reset(total=len(labeled.images))
                report["zero_shot"] = evaluate_zero_shot(
                    pack, labeled, settings.max_image_pixels, args.batch_size, args.prompt, bar.update
                )
    except (ValueError, ImageDecodeError, FileNotFoundError, PackUnavailable) as exc:  # bad sets and packs
        return fail(str(exc))
    if args.json:
        print_json(report)
    else:
        print(format_report(report))
    return 0


def format_report(report: dict[str, Any]) -> str:
    lines = [f"pack: {report['pack']}"]
    if "captions" in report:
        figures = report["captions"]
        lines.append(f"captions: {figures['images']} images, {figures['captions']} captions")
        for direction in ("text_to_image", "image_to_text"):
            recall = "  ".join(f"{name} {value:5.1f}" for name, value in figures[direction].items())
            lines.append(f"  {direction.replace('_', ' ')}: {recall}")
    if "zero_shot" in report:
        figures = report["zero_shot"]
        accuracy = "  ".join(f"{name} {figures[name]:5.1f}" for name in ("top1", "top5"))
        lines.append(f"zero-shot: {figures['images']} images, {figures['classes']} classes: {accuracy}")
    return "\n".join(lines)

"""`pixseek reindex`: re-embed the library with another model pack and switch to it atomically."""

from __future__ import annotations

import argparse
import sys

from pixseek.cli.common import add_common_options, fail, positive_int, print_json, settings_from_args
from pixseek.index.factory import open_store, store_missing
from pixseek.index.protocol import ModelMismatchError
from pixseek.index.reindex import Reindexer, ReindexReport
from pixseek.index.reindex_targets import open_target
from pixseek.models.loader import load_pack

MISSING_SHOWN = 20  # missing files listed in the text output; --json lists all


def register(subparsers: argparse._SubParsersAction) -> None:
    help_text = "re-embed every stored image with another model pack into a new index, then switch to it"
    p = subparsers.add_parser("reindex", help=help_text, description=help_text)
    add_common_options(p)  # --pack: the pack the store was built with
    p.add_argument("--to-pack", required=True, help="the new model pack: 'starter' or a model directory")
    p.add_argument("--batch-size", type=positive_int, default=None, help="images per model call")
    p.add_argument(
        "--drop-missing",
        action="store_true",
        help="switch even if some original files are gone (those images are left out)",
    )
    p.add_argument("--delete-old", action="store_true", help="delete the replaced index after the switch")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_reindex)


def cmd_reindex(args: argparse.Namespace) -> int:
    try:
        settings = settings_from_args(args)
        if problem := store_missing(settings):  # a mistyped --db is not an empty library to switch
            return fail(problem)
        old_pack = load_pack(settings).info
        new_pack = load_pack(settings.model_copy(update={"models": args.to_pack}))
        source = open_store(settings, old_pack)
    except (ModelMismatchError, ValueError, FileNotFoundError) as exc:
        return fail(str(exc))
    try:
        target = open_target(settings, source, new_pack.info)
    except ValueError as exc:
        source.close()
        return fail(str(exc))
    try:
        try:
            batch = args.batch_size or settings.batch_size
            reindexer = Reindexer(source, target, new_pack, settings.max_image_pixels, batch)
            report = reindexer.run(progress=not args.no_progress, drop_missing=args.drop_missing)
        finally:
            source.close()  # before deleting what it had open
        if report.switched and args.delete_old:
            target.delete_replaced(report.replaced)
    finally:
        target.close()
    _print_report(report, args.json, args.to_pack)
    return 0 if report.switched else 1


def _print_report(report: ReindexReport, as_json: bool, to_pack: str) -> None:
    if as_json:
        missing = [{"image_id": i, "path": path, "reason": why} for i, (path, why) in report.missing.items()]
        print_json({
            "target": report.target, "indexed": report.indexed, "resumed": report.resumed,
            "missing": missing, "not_copied": report.not_copied, "switched": report.switched,
            "replaced": report.replaced,
        })  # fmt: skip
        return
    print(f"re-indexed {report.indexed} images into {report.target} ({report.resumed} from an earlier run)")
    for image_id, (path, reason) in list(report.missing.items())[:MISSING_SHOWN]:
        print(f"  missing {image_id[:12]} {path}: {reason}", file=sys.stderr)
    if report.not_copied:
        print(
            f"not switched: {report.not_copied} images were added while it ran and are not copied yet. "
            "Run it again (it resumes).",
            file=sys.stderr,
        )
        return
    if not report.switched:
        print(
            f"not switched: {len(report.missing)} original files cannot be re-read. Restore them and run "
            "again (it resumes), or pass --drop-missing to switch without them.",
            file=sys.stderr,
        )
        return
    print(f"switched to {report.target}; replaced: {', '.join(report.replaced) or 'nothing'}")
    print(f"open it with the new pack from now on: PIXSEEK_MODELS={to_pack} (or --pack {to_pack})")

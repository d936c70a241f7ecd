"""Commands over the local library: index, search, similar, objects, info, delete, optimize, demo."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path

from pixseek.cli import output
from pixseek.cli.common import (
    add_common_options,
    fail,
    float_between,
    non_negative_int,
    positive_int,
    print_json,
    settings_from_args,
)
from pixseek.engine import Engine, check_db_folder
from pixseek.errors import BackendUnavailable
from pixseek.index.factory import store_missing
from pixseek.index.protocol import ImageFilter, ImageHit, ModelMismatchError, ObjectFilter, is_hex
from pixseek.ingest.decode import ImageDecodeError
from pixseek.ingest.folder import IMAGE_EXTENSIONS, FolderReport, find_images, index_paths, read_image_file
from pixseek.ingest.media import is_image_id
from pixseek.samples import sample_images
from pixseek.search.classes import checked_classes
from pixseek.search.dates import date_range, parse_date
from pixseek.search.service import CLASS_MIN_CONFIDENCE, Page, UnknownImageError

DEMO_QUERIES = ("a cat", "a cup of coffee", "a rocket", "a motorcycle", "a bus")
DEMO_OBJECT_QUERY = "a person"


def register(subparsers: argparse._SubParsersAction) -> None:
    add = command_adder(subparsers)
    p = add("index", cmd_index, "index the images of a folder (recursively)")
    p.add_argument("folder", type=Path)
    p.add_argument("--tags", type=_csv, default=(), help="comma-separated tags for every image")
    p.add_argument(
        "--batch-size", type=positive_int, default=None, help="images per model call ($PIXSEEK_BATCH_SIZE)"
    )
    p.add_argument("--no-progress", action="store_true")

    p = add("search", cmd_search, "find images by text (with filters: hybrid search)")
    p.add_argument("text")
    _add_page_options(p)
    add_filter_options(p)
    p.add_argument("--all-classes", action="store_true", help="require every class, not any")

    p = add("similar", cmd_similar, "find images like an image file or a stored image id")
    p.add_argument("image", help="an image file or a stored image id")
    _add_page_options(p)
    add_filter_options(p)

    p = add("objects", cmd_objects, "find detected objects by text; prints their boxes")
    p.add_argument("text")
    _add_page_options(p)
    add_filter_options(p, min_confidence=0.0)

    add("info", cmd_info, "show the store and the model pack")
    p = add("delete", cmd_delete, "delete a stored image and its objects, or every image with a tag")
    p.add_argument("image_id", nargs="?", help="the image's id (or the short id the tables show)")
    p.add_argument("--tag", help="delete every image carrying this tag instead (e.g. demo)")
    add("optimize", cmd_optimize, "build or refresh the ANN indexes")
    p = add("demo", cmd_demo, "index sample photos shipped in installed packages and search them")
    p.add_argument("--no-progress", action="store_true")


def command_adder(subparsers: argparse._SubParsersAction) -> Callable[..., argparse.ArgumentParser]:
    def add(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        parser = subparsers.add_parser(name, help=help_text, description=help_text)
        add_common_options(parser)
        parser.set_defaults(func=lambda args: _run(func, args))
        return parser

    return add


def _run(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Turn the errors a user can cause into a message and a non-zero exit code."""
    try:
        return func(args)
    except ModelMismatchError as exc:
        return fail(str(exc))
    except BackendUnavailable as exc:
        return fail(str(exc), code=3)
    except (ValueError, FileNotFoundError, ImageDecodeError) as exc:
        return fail(str(exc))
    except BrokenPipeError:  # the reader of our output left: `main` ends quietly
        raise
    except OSError as exc:  # permissions, a read-only or full disk
        return fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
    except RuntimeError as exc:  # LanceDB's own I/O errors (a damaged table, no space left)
        return fail(f"the store failed: {exc}")


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _date(value: str) -> date | datetime:
    try:
        return parse_date(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_page_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-k", "--k", type=positive_int, default=10, help="results per page (default 10)")
    parser.add_argument("--offset", type=non_negative_int, default=0, help="results to skip (next pages)")
    parser.add_argument(
        "--min-score",
        type=float_between(-1.0, 1.0),
        default=-1.0,
        help="drop results scoring below this (-1..1)",
    )
    parser.add_argument(
        "--sort",
        choices=("score", "date"),
        default="score",
        help="best first, or newest capture first (among the PIXSEEK_DATE_SORT_POOL best matches)",
    )


def add_filter_options(parser: argparse.ArgumentParser, min_confidence: float = CLASS_MIN_CONFIDENCE) -> None:
    parser.add_argument("--classes", type=_csv, default=(), help="COCO classes, comma-separated")
    parser.add_argument(
        "--min-confidence", type=float_between(0.0, 1.0), default=min_confidence,
        help=f"a listed class counts from this detection confidence (default {min_confidence})",
    )  # fmt: skip
    parser.add_argument(
        "--date-from", type=_date, help="captured on or after: YYYY-MM-DD or an ISO date-time"
    )
    parser.add_argument("--date-to", type=_date, help="captured on or before (a bare date: the whole day)")
    parser.add_argument("--tags", type=_csv, default=(), help="any of these tags")


def _page(args: argparse.Namespace) -> Page:
    return Page(k=args.k, offset=args.offset, min_score=args.min_score, sort=args.sort)


def image_filter_of(args: argparse.Namespace, known_classes: Sequence[str]) -> ImageFilter:
    mode = "all" if getattr(args, "all_classes", False) else "any"
    date_from, date_to = _dates(args)
    classes = _classes(args, known_classes)
    return ImageFilter(classes, mode, args.min_confidence, date_from, date_to, args.tags)


def _classes(args: argparse.Namespace, known: Sequence[str]) -> tuple[str, ...]:
    return checked_classes(args.classes, known, "`pixseek classes` lists them")


def _dates(args: argparse.Namespace) -> tuple[datetime | None, datetime | None]:
    try:
        return date_range(args.date_from, args.date_to)  # as the API reads them
    except ValueError as exc:
        raise ValueError(
            str(exc).replace("date_from", "--date-from").replace("date_to", "--date-to")
        ) from None


def open_engine(args: argparse.Namespace, create: bool = False) -> Engine:
    """The engine over the store `--db` names; only commands that add images (`create`) make one: a
    mistyped path is an error, not an empty library."""
    settings = settings_from_args(args)
    check_db_folder(settings.db)
    if not create and (problem := store_missing(settings)):
        raise ValueError(problem)
    return Engine.open(settings)


def cmd_index(args: argparse.Namespace) -> int:
    unlisted: list[tuple[str, str]] = []
    paths = find_images(args.folder, unlisted)
    if not paths and not unlisted:
        kinds = ", ".join(sorted(IMAGE_EXTENSIONS))
        print(f"no images under {args.folder} (files ending {kinds}; hidden files skipped)", file=sys.stderr)
        _print_report(FolderReport(), args.json)
        return 0
    settings = settings_from_args(args)
    if not settings.onnx_threads:
        # The ingest shards already keep every core busy: one thread per model call wastes less on
        # synchronization (production pack, 2 cores: 10-15% faster than two threads per call).
        settings = settings.model_copy(update={"onnx_threads": 1})
    engine = Engine.open(settings)
    try:
        batch = args.batch_size or engine.settings.batch_size
        report = index_paths(engine.ingestor, paths, args.tags, batch, progress=not args.no_progress)
        report.rejected[:0] = unlisted
        # Past the threshold, new rows are flat-scanned beside LanceDB's index and the resident
        # snapshot no longer matches the table: `optimize` folds them in (minutes at 1M images).
        info = engine.store.info() if report.indexed else None
        needs_optimize = bool(info and info.backend == "lancedb" and info.images >= settings.ann_threshold)
    finally:
        engine.close()
    _print_report(report, args.json)
    if needs_optimize:
        print("tip: run `pixseek optimize` to fold the new images into the indexes that serve searches",
              file=sys.stderr)  # fmt: skip
    return 0


def _print_report(report: FolderReport, as_json: bool) -> None:
    if as_json:
        rejected = [{"path": path, "reason": reason} for path, reason in report.rejected]
        print_json({
            "indexed": report.indexed, "existing": report.existing, "updated": report.updated,
            "rejected": rejected,
        })  # fmt: skip
        return
    updated = f" ({report.updated} given new tags or a new path)" if report.updated else ""
    skipped = len(report.rejected)
    print(f"indexed {report.indexed}, already stored {report.existing}{updated}, rejected {skipped}")
    for path, reason in report.rejected:
        print(f"  skipped {path}: {reason}", file=sys.stderr)


def cmd_search(args: argparse.Namespace) -> int:
    engine = open_engine(args)
    try:
        hits = engine.search.text(args.text, _page(args), image_filter_of(args, engine.pack.info.class_names))
    finally:
        engine.close()
    _emit_image_hits(hits, args.json)
    return 0


def _emit_image_hits(hits: list[ImageHit], as_json: bool) -> None:
    if as_json:
        print_json([output.image_hit_dict(h) for h in hits])
    else:
        print(output.image_hits_table(hits))


def cmd_similar(args: argparse.Namespace) -> int:
    engine = open_engine(args)
    try:
        if Path(args.image).is_file():  # read as `index` reads a folder's files (size-capped)
            try:
                data = read_image_file(Path(args.image))
            except ValueError as exc:
                return fail(f"{args.image}: {exc}")
            hits = engine.search.image(data, _page(args), image_filter_of(args, engine.pack.info.class_names))
        elif looks_like_id(args.image):
            image_id = full_id(engine, args.image)
            hits = engine.search.similar(
                image_id, _page(args), image_filter_of(args, engine.pack.info.class_names)
            )
        else:
            return fail(
                f"{args.image!r} is neither an image file nor a stored image id"
                f" (hex digits: all 64, or at least {MIN_ID_PREFIX})"
            )
    except UnknownImageError:
        return fail(f"no stored image has id {args.image}", code=1)
    finally:
        engine.close()
    _emit_image_hits(hits, args.json)
    return 0


MIN_ID_PREFIX = 6  # hex digits a short id needs (the tables show 12)


def looks_like_id(text: str) -> bool:
    return MIN_ID_PREFIX <= len(text) <= 64 and is_hex(text)


def full_id(engine: Engine, text: str) -> str:
    """The stored id that `text` is, or is the only one to start with; UnknownImageError if none."""
    if is_image_id(text):
        return text
    matches = engine.store.ids_with_prefix(text, limit=2)
    if len(matches) > 1:
        raise ValueError(f"id prefix {text!r} is not unique: give more digits")
    if not matches:
        raise UnknownImageError(text)
    return matches[0]


def cmd_objects(args: argparse.Namespace) -> int:
    date_from, date_to = _dates(args)
    engine = open_engine(args)
    try:
        classes = _classes(args, engine.pack.info.class_names)
        flt = ObjectFilter(classes, args.min_confidence, date_from, date_to, args.tags)
        hits = engine.search.objects(args.text, _page(args), flt)
    finally:
        engine.close()
    print_json([output.object_hit_dict(h) for h in hits]) if args.json else print(
        output.object_hits_table(hits)
    )
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    engine = open_engine(args)
    try:
        info, pack = engine.store.info(), engine.pack.info
    finally:
        engine.close()
    payload = {
        "store": {"backend": info.backend, "location": info.location, "images": info.images,
                  "objects": info.objects, "indexed": info.indexed},
        "pack": {"model_id": pack.model_id, "dim": pack.dim, "detector": pack.detector_id,
                 "embedder": pack.embedder_id, "licence": pack.licence},
    }  # fmt: skip
    if args.json:
        print_json(payload)
    else:
        for section, values in payload.items():
            print(f"{section}:")
            for key, value in values.items():
                print(f"  {key}: {value}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    if (args.image_id is None) == (args.tag is None):
        return fail("name an image id or --tag TAG (not both)")
    if args.tag is not None:
        return _delete_tagged(args)
    if not looks_like_id(args.image_id):
        return fail(f"not an image id: {args.image_id!r} (hex digits: all 64, or at least {MIN_ID_PREFIX})")
    engine = open_engine(args)
    try:
        image_id = full_id(engine, args.image_id)
        deleted = engine.delete_image(image_id)
    except UnknownImageError:
        deleted = False
    finally:
        engine.close()
    if not deleted:
        return fail(f"no stored image has id {args.image_id}", code=1)
    print_json({"deleted": image_id}) if args.json else print(f"deleted {image_id}")
    return 0


def _delete_tagged(args: argparse.Namespace) -> int:
    tag = args.tag.strip()
    if not tag:
        return fail("--tag is empty")
    engine = open_engine(args)
    deleted = 0
    try:
        while batch := engine.store.list_images(500, 0, ImageFilter(tags=(tag,))):
            deleted += sum(engine.delete_image(record.id) for record in batch)
    finally:
        engine.close()
    print_json({"deleted": deleted, "tag": tag}) if args.json else print(
        f"deleted {deleted} images tagged {tag!r}"
    )
    return 0


def cmd_optimize(args: argparse.Namespace) -> int:
    engine = open_engine(args)
    try:
        engine.store.optimize()
        info = engine.store.info()
    finally:
        engine.close()
    print_json({"images": info.images, "indexed": info.indexed}) if args.json else print(
        f"optimized: {info.images} images, ANN index {'on' if info.indexed else 'off (exact search)'}"
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    paths = sample_images()
    if not paths:
        return fail("no sample photos found: install scikit-image (see README set-up)")
    engine = open_engine(args, create=True)
    try:
        report = index_paths(engine.ingestor, paths, ("demo",), progress=not args.no_progress)
        searches = {q: engine.search.text(q, Page(k=3), ImageFilter(tags=("demo",))) for q in DEMO_QUERIES}
        objects = engine.search.objects(DEMO_OBJECT_QUERY, Page(k=5), ObjectFilter(tags=("demo",)))
        location = engine.store.info().location
    finally:
        engine.close()
    if args.json:
        print_json({
            "indexed": report.indexed, "existing": report.existing, "store": location,
            "searches": {q: [output.image_hit_dict(h) for h in hits] for q, hits in searches.items()},
            "objects": {DEMO_OBJECT_QUERY: [output.object_hit_dict(h) for h in objects]},
        })  # fmt: skip
        return 0
    print(f"indexed {report.indexed} sample photos ({report.existing} already stored)\n")
    for query, hits in searches.items():
        print(f'search "{query}":\n{output.image_hits_table(hits)}\n')
    print(f'objects "{DEMO_OBJECT_QUERY}":\n{output.object_hits_table(objects)}\n')
    print(f"The sample photos are in the store at {location}, tagged 'demo'.")
    print("Remove them with: pixseek delete --tag demo")
    return 0

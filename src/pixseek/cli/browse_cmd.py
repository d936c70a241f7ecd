"""Browsing without a query: the library's images newest first, its tags, the detector's classes."""

from __future__ import annotations

import argparse

from pixseek.cli import output
from pixseek.cli.common import non_negative_int, positive_int, print_json
from pixseek.cli.library_cmd import add_filter_options, command_adder, image_filter_of, open_engine
from pixseek.search.service import Page


def register(subparsers: argparse._SubParsersAction) -> None:
    add = command_adder(subparsers)
    p = add("list", cmd_list, "list stored images, newest capture first (with the search filters)")
    p.add_argument("-k", "--k", type=positive_int, default=20, help="images per page (default 20)")
    p.add_argument("--offset", type=non_negative_int, default=0, help="images to skip (next pages)")
    add_filter_options(p)
    add("tags", cmd_tags, "list the library's tags, most used first, with their image counts")
    add("classes", cmd_classes, "list the object classes the detector knows (for --classes)")


def cmd_list(args: argparse.Namespace) -> int:
    engine = open_engine(args)
    try:
        page = Page(k=args.k, offset=args.offset)
        records = engine.search.browse(page, image_filter_of(args, engine.pack.info.class_names))
    finally:
        engine.close()
    if args.json:
        print_json([output.record_dict(record) for record in records])
    else:
        print(output.records_table(records))
    return 0


def cmd_tags(args: argparse.Namespace) -> int:
    engine = open_engine(args)
    try:
        ordered = engine.search.tags()
    finally:
        engine.close()
    if args.json:
        print_json([{"tag": tag, "images": images} for tag, images in ordered])
    else:
        print(output.table(("tag", "images"), ordered) if ordered else "no tags")
    return 0


def cmd_classes(args: argparse.Namespace) -> int:
    engine = open_engine(args)
    try:
        names = list(engine.pack.info.class_names)
    finally:
        engine.close()
    if args.json:
        print_json(names)
    else:
        print("\n".join(names))
    return 0

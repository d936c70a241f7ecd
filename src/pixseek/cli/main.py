"""Entry point of the `pixseek` command: one sub-module per group of sub-commands."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from pixseek import __version__

# Each module exposes `register(subparsers)`; a sub-command sets `func(args) -> int` as its default.
COMMAND_MODULES = (
    "pixseek.cli.library_cmd",  # index, search, similar, objects, info, delete, optimize, demo
    "pixseek.cli.browse_cmd",  # list, tags, classes
    "pixseek.cli.serve_cmd",  # serve
    "pixseek.cli.models_cmd",  # models export / info
    "pixseek.cli.triton_cmd",  # triton repo / trt build
    "pixseek.cli.reindex_cmd",  # reindex
    "pixseek.cli.eval_cmd",  # eval
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pixseek", description="Visual search over your images.")
    parser.add_argument("--version", action="version", version=f"pixseek {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # command group not built yet
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `pixseek list | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())

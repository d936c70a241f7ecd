"""Options shared by sub-commands and the Settings they produce."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pixseek.config import Settings


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="store folder (default: $PIXSEEK_DB or the user data dir)")
    parser.add_argument("--pack", help="model pack: 'starter' or a model directory ($PIXSEEK_MODELS)")
    parser.add_argument("--json", action="store_true", help="machine-readable JSON output")


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "db", None):
        overrides["db"] = args.db
    if getattr(args, "pack", None):
        overrides["models"] = args.pack
    return Settings(**overrides)


def print_json(payload: object) -> None:
    json.dump(payload, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def fail(message: str, code: int = 2) -> int:
    print(f"pixseek: error: {message}", file=sys.stderr)
    return code

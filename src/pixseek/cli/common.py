"""Options shared by sub-commands and the Settings they produce."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from pixseek.config import SETTINGS_PREFIX, Settings


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
    try:
        return Settings(**overrides)
    except ValidationError as exc:  # settings come from PIXSEEK_* variables: name the variable
        raise ValueError(settings_problem(exc)) from None


def settings_problem(error: ValidationError) -> str:
    problems = [
        f"{SETTINGS_PREFIX}{str(detail['loc'][0]).upper()}={detail.get('input')!r}: {detail['msg']}"
        for detail in error.errors()
    ]
    return "bad setting: " + "; ".join(problems)


def print_json(payload: object) -> None:
    json.dump(payload, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def fail(message: str, code: int = 2) -> int:
    print(f"pixseek: error: {message}", file=sys.stderr)
    return code


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (a batch size of 0 or -1 would silently process nothing)."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    return _int_at_least(text, 0)


def _int_at_least(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be at least {least}: {value}")
    return value


def float_between(low: float, high: float) -> Callable[[str], float]:
    """argparse type: a number in [low, high]."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}: {value}")
        return value

    return parse

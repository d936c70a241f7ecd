"""Class names from users: matched to the pack's names regardless of case, or refused with a hint."""

from __future__ import annotations

import difflib
from collections.abc import Sequence


def checked_classes(names: Sequence[str], known: Sequence[str], listing: str) -> tuple[str, ...]:
    """The pack's spelling of each name, once each, in order; ValueError names the first unknown one,
    the closest known names, and `listing` (where the user can see them all)."""
    by_folded = {name.casefold(): name for name in known}
    checked: dict[str, None] = {}
    for name in names:
        match = by_folded.get(name.strip().casefold())
        if match is None:
            close = difflib.get_close_matches(name.strip().lower(), list(known), n=3, cutoff=0.6)
            hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
            raise ValueError(f"unknown class {name!r}{hint}; {listing}")
        checked.setdefault(match)
    return tuple(checked)

"""Readers of captioned and labeled image sets into one shape: image files plus texts pointing at them.

Captioned layouts: a CSV with a header naming a file column (`file` or `image`) and a `caption`
column (Flickr30k's Kaggle `captions.txt` is one); Flickr30k's `results.csv`
(`image_name| comment_number| comment`); COCO captions JSON (`images` with `id`/`file_name`,
`annotations` with `image_id`/`caption`). Labeled layout: `folder/<class>/<image>`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pixseek.ingest.folder import find_images

FILE_COLUMNS = ("file", "image", "image_name", "filename")
CAPTION_COLUMNS = ("caption", "comment", "text")


class DatasetError(ValueError):
    """The file does not have a layout this module reads, or names images that are missing."""


@dataclass(frozen=True)
class CaptionSet:
    images: tuple[Path, ...]
    captions: tuple[str, ...]
    caption_image: tuple[int, ...]  # per caption, the index of its image in `images`


@dataclass(frozen=True)
class LabeledSet:
    images: tuple[Path, ...]
    labels: tuple[int, ...]  # per image, the index of its class in `class_names`
    class_names: tuple[str, ...]


def caption_set(pairs: Iterable[tuple[str, str]], image_dir: Path, limit: int | None = None) -> CaptionSet:
    """Group (file name, caption) pairs by image, in order of first appearance; the first `limit` images."""
    by_file: dict[str, list[str]] = {}
    for name, caption in pairs:
        name, caption = name.strip(), " ".join(caption.split())
        if name and caption and (name in by_file or limit is None or len(by_file) < limit):
            by_file.setdefault(name, []).append(caption)
    if not by_file:
        raise DatasetError("no (image, caption) pairs found")
    images = tuple(image_dir / name for name in by_file)
    missing = [path for path in images if not path.is_file()]
    if missing:
        raise DatasetError(f"{len(missing)} captioned images are missing, e.g. {missing[0]}; see --images")
    captions = [(index, caption) for index, texts in enumerate(by_file.values()) for caption in texts]
    return CaptionSet(images, tuple(c for _, c in captions), tuple(i for i, _ in captions))


def _column(header: list[str], candidates: tuple[str, ...], path: Path) -> int:
    normalized = [name.strip().lower() for name in header]
    for name in candidates:
        if name in normalized:
            return normalized.index(name)
    raise DatasetError(f"{path}: no column named one of {candidates} in header {header}")


def csv_pairs(path: Path) -> list[tuple[str, str]]:
    """(file, caption) rows of a CSV with a header; `|`-separated files (Flickr30k results.csv) too."""
    text = path.read_text(encoding="utf-8-sig")
    delimiter = "|" if "|" in text.splitlines()[0] else ","
    rows = list(csv.reader(text.splitlines(), delimiter=delimiter))
    if not rows:
        raise DatasetError(f"{path} is empty")
    file_col = _column(rows[0], FILE_COLUMNS, path)
    caption_col = _column(rows[0], CAPTION_COLUMNS, path)
    if caption_col == len(rows[0]) - 1:  # a last column may hold unquoted delimiters: keep them
        return [
            (row[file_col], delimiter.join(row[caption_col:])) for row in rows[1:] if len(row) > caption_col
        ]
    return [(row[file_col], row[caption_col]) for row in rows[1:] if len(row) > max(file_col, caption_col)]


def coco_pairs(path: Path) -> list[tuple[str, str]]:
    """(file_name, caption) pairs of a COCO captions file, in annotation order."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = {image["id"]: image["file_name"] for image in data["images"]}
        return [(files[a["image_id"]], a["caption"]) for a in data["annotations"]]
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path} is not a COCO captions file ({exc!r})") from exc


def read_caption_set(path: Path, image_dir: Path | None = None, limit: int | None = None) -> CaptionSet:
    """Any captioned layout above; images are looked up in `image_dir` (default: the file's folder)."""
    pairs = coco_pairs(path) if path.suffix.lower() == ".json" else csv_pairs(path)
    return caption_set(pairs, image_dir or path.parent, limit)


def read_labeled_set(root: Path) -> LabeledSet:
    """Images of `root/<class>/...`; classes in name order, underscores read as spaces."""
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    images: list[Path] = []
    labels: list[int] = []
    for label, folder in enumerate(folders):
        found = find_images(folder)
        images += found
        labels += [label] * len(found)
    if not images:
        raise DatasetError(f"no images in class folders under {root}")
    return LabeledSet(tuple(images), tuple(labels), tuple(f.name.replace("_", " ") for f in folders))

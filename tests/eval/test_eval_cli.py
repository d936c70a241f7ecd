"""`pixseek eval` end to end with the starter pack on sets built from the package-shipped photos.

The figures of so small a set say nothing of quality; the test recomputes them independently (ranks by
sorting the similarity matrix) from the same pack's vectors.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from pixseek.cli.main import main
from pixseek.ingest.decode import decode_image
from pixseek.models.starter.pack import StarterPack
from pixseek.samples import sample_images

# class -> sample photo (file stem), and the captions of that photo
SAMPLES = {
    "cat": ("chelsea", ("a cat", "a tabby cat looking up")),
    "coffee": ("coffee", ("a cup of coffee", "coffee on a saucer")),
    "rocket": ("rocket", ("a rocket on the launch pad", "a space shuttle")),
    "bus": ("bus", ("a bus in the street", "people getting off a bus")),
    "motorcycle": ("motorcycle_left", ("a motorcycle", "a parked motorbike")),
    "astronaut": ("astronaut", ("an astronaut", "a woman in a space suit")),
}
MAX_PIXELS = 64_000_000


@pytest.fixture(scope="module")
def sample_sets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """labeled/<class>/{original,mirrored}.png and captions.csv over the originals."""
    by_stem = {path.stem: path for path in sample_images()}
    if any(stem not in by_stem for stem, _ in SAMPLES.values()):
        pytest.skip("a sample photo's package is not installed")
    root = tmp_path_factory.mktemp("eval-sets")
    rows = []
    for name, (stem, captions) in SAMPLES.items():
        photo = Image.open(by_stem[stem]).convert("RGB")
        photo.thumbnail((320, 320))
        (root / "labeled" / name).mkdir(parents=True)
        photo.save(root / "labeled" / name / "original.png")
        ImageOps.mirror(photo).save(root / "labeled" / name / "mirrored.png")
        photo.save(root / f"{name}.png")
        rows += [(f"{name}.png", caption) for caption in captions]
    with (root / "captions.csv").open("w", newline="") as f:
        csv.writer(f).writerows([("file", "caption"), *rows])
    return root


def embed_files(pack: StarterPack, paths: list[Path]) -> np.ndarray:
    return pack.image_embedder.embed_images([decode_image(p.read_bytes(), MAX_PIXELS).rgb for p in paths])


def rank_of(scores: np.ndarray, relevant: set[int]) -> int:
    """Position of the first relevant item in the list sorted by descending score (no ties here)."""
    order = np.argsort(-scores, kind="stable").tolist()
    return min(order.index(i) for i in relevant)


def percent_within(ranks: list[int], k: int) -> float:
    return round(100.0 * float(np.mean(np.array(ranks) < k)), 2)


def run_eval(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["eval", *args, "--json", "--no-progress"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def warm_cache(monkeypatch: pytest.MonkeyPatch, starter_pack: StarterPack) -> None:
    # The command builds its own pack: let it read the class vectors the session fixture computed.
    monkeypatch.setenv("PIXSEEK_CACHE_DIR", str(starter_pack.image_embedder.cache_file.parent))


@pytest.mark.usefixtures("warm_cache")
def test_caption_recall_matches_ranks_recomputed_from_the_pack(
    sample_sets: Path, starter_pack: StarterPack, capsys: pytest.CaptureFixture[str]
) -> None:
    report = run_eval(capsys, "--captions", str(sample_sets / "captions.csv"))["captions"]
    names = list(SAMPLES)
    images = embed_files(starter_pack, [sample_sets / f"{name}.png" for name in names])
    owner = [i for i, name in enumerate(names) for _ in SAMPLES[name][1]]
    captions = starter_pack.text_embedder.embed_texts([c for name in names for c in SAMPLES[name][1]])
    similarity = captions @ images.T
    t2i = [rank_of(similarity[q], {owner[q]}) for q in range(len(owner))]
    i2t = [rank_of(similarity[:, i], {q for q, o in enumerate(owner) if o == i}) for i in range(len(names))]
    assert (report["images"], report["captions"]) == (6, 12)
    assert report["text_to_image"] == {f"R@{k}": percent_within(t2i, k) for k in (1, 5, 10)}
    assert report["image_to_text"] == {f"R@{k}": percent_within(i2t, k) for k in (1, 5, 10)}


@pytest.mark.usefixtures("warm_cache")
def test_zero_shot_accuracy_matches_ranks_recomputed_from_the_pack(
    sample_sets: Path, starter_pack: StarterPack, capsys: pytest.CaptureFixture[str]
) -> None:
    report = run_eval(capsys, "--labeled", str(sample_sets / "labeled"))["zero_shot"]
    classes = sorted(SAMPLES)
    paths = [sample_sets / "labeled" / name / f for name in classes for f in ("mirrored.png", "original.png")]
    labels = [i for i in range(len(classes)) for _ in range(2)]
    prompts = starter_pack.text_embedder.embed_texts([f"a photo of a {name}" for name in classes])
    similarity = embed_files(starter_pack, paths) @ prompts.T
    ranks = [rank_of(similarity[i], {label}) for i, label in enumerate(labels)]
    assert (report["images"], report["classes"]) == (12, 6)
    assert {"top1": report["top1"], "top5": report["top5"]} == {
        f"top{k}": percent_within(ranks, k) for k in (1, 5)
    }


def test_eval_without_a_set_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval"]) == 2
    assert "--captions" in capsys.readouterr().err

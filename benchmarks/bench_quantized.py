"""The int8 pack against its fp32 source: vector agreement, retrieval agreement, speed and size.

    .venv-export/bin/pixseek models quantize PACK --out PACK-int8     # once (needs onnx)
    python benchmarks/bench_quantized.py --pack PACK --int8 PACK-int8 [--images 64]

On generated images (random crops of the package-shipped samples) and 3 fixed crops of each:
  cosine        between each fp32 and int8 image/crop vector (mean, 5th percentile, min)
  agreement@10  overlap of the top-10 neighbours (image->image over all vectors, and text->image
                with the pack's text encoder) computed with fp32 vectors and with int8 vectors
  detector      cosine between the raw fp32 and int8 detector outputs per image
  speed         CPU ms per image (detector) and per crop (embedder), fp32 and int8 interleaved
With random weights the figures measure numerics only; distinct images also lie close together
(`fp32_mean_cosine_between_images`), which makes neighbour order fragile: a pessimistic setting.
`int8_error_over_spread` says how large the int8 error is against the differences that rank.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result
from ingest_support import PaddedDetector, load_average, make_images
from pixseek.config import Settings
from pixseek.ingest.decode import decode_image
from pixseek.models.model_inputs import detector_input
from pixseek.models.onnx_pack import OnnxModelPack, load_onnx_pack
from pixseek.models.preprocess import crop_with_context
from pixseek.models.types import RGBImage

PROMPTS = ("a cat", "a dog", "a bus on a street", "a cup of coffee", "a rocket", "an astronaut", "a person",
           "a bowl", "a red car", "a landscape")  # fmt: skip


def views(images: list[RGBImage]) -> list[RGBImage]:
    """Each image, then 3 fixed crops of it (what an image with 3 detections embeds)."""
    out: list[RGBImage] = []
    for image in images:
        out.append(image)
        out += [crop_with_context(image, d.box, 0.1) for d in PaddedDetector._extra(image, 3)]
    return out


def top10(queries: np.ndarray, base: np.ndarray, exclude_self: bool) -> np.ndarray:
    scores = queries @ base.T
    if exclude_self:
        np.fill_diagonal(scores, -np.inf)
    return np.argsort(-scores, axis=1)[:, :10]


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean([len(set(x) & set(y)) / 10 for x, y in zip(a, b, strict=True)]))


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    return np.asarray((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1))


def noise_over_spread(exact: np.ndarray, approx: np.ndarray) -> float:
    """Mean |int8 - fp32| over the mean distance of fp32 vectors from their centroid."""
    error = np.linalg.norm(approx - exact, axis=1).mean()
    return float(error / np.linalg.norm(exact - exact.mean(axis=0), axis=1).mean())


def cpu_ms(run: object, count: int, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        started = time.process_time()
        run()  # type: ignore[operator]
        times.append(time.process_time() - started)
    return round(min(times) * 1000 / count, 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pack", type=Path, required=True, help="fp32 pack directory")
    parser.add_argument("--int8", type=Path, required=True, help="its `pixseek models quantize` copy")
    parser.add_argument("--images", type=int, default=64)
    args = parser.parse_args()
    settings = Settings(onnx_providers="cpu")
    fp32, int8 = load_onnx_pack(args.pack, settings), load_onnx_pack(args.int8, settings)
    load_before = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_images(Path(tmp), args.images, seed=1)
        images = [decode_image(p.read_bytes(), 64_000_000).rgb for p in paths]
    crops = views(images)

    def embed(pack: OnnxModelPack) -> np.ndarray:
        return np.concatenate(
            [pack.image_embedder.embed_images(crops[i : i + 16]) for i in range(0, len(crops), 16)]
        )

    def raw_detect(pack: OnnxModelPack) -> np.ndarray:
        spec = pack.detector.manifest.input
        return np.concatenate([pack.detector.graph.run(detector_input(images[i : i + 4], spec)[0])
                               for i in range(0, len(images), 4)])  # fmt: skip

    vectors = {"fp32": embed(fp32), "int8": embed(int8)}
    texts = fp32.text_embedder.embed_texts(list(PROMPTS))  # the text encoder is fp32 in both packs
    cos = cosines(vectors["fp32"], vectors["int8"])
    whole = vectors["fp32"][::4]
    spread = whole @ whole.T
    figures: dict[str, object] = {
        "fp32_pack": fp32.info.model_id,
        "int8_pack": int8.info.model_id,
        "quantized": int8.files.embedder.exported_with.get("quantized", "(not recorded)"),
        "weights": fp32.files.embedder.weights,
        "images": len(images),
        "vectors": len(crops),
        "embedder_cosine": {
            "mean": round(float(cos.mean()), 5),
            "p5": round(float(np.percentile(cos, 5)), 5),
            "min": round(float(cos.min()), 5),
        },
        "fp32_mean_cosine_between_images": round(float(spread[~np.eye(len(whole), dtype=bool)].mean()), 4),
        # Rankings for a query depend only on how vectors differ from one another: int8 error that is
        # small against that spread leaves neighbours unchanged; random weights make the spread tiny.
        "int8_error_over_spread": round(noise_over_spread(vectors["fp32"], vectors["int8"]), 4),
        "agreement_at_10": {
            "image_to_image": round(agreement(*(top10(v, v, True) for v in vectors.values())), 4),
            "text_to_image": round(agreement(*(top10(texts, v, False) for v in vectors.values())), 4),
        },
        "detector_raw_output_cosine_min": round(float(cosines(raw_detect(fp32), raw_detect(int8)).min()), 5),
        "cpu_ms": {
            "embed_per_crop_fp32": cpu_ms(lambda: fp32.image_embedder.embed_images(crops[:16]), 16),
            "embed_per_crop_int8": cpu_ms(lambda: int8.image_embedder.embed_images(crops[:16]), 16),
            "detect_per_image_fp32": cpu_ms(lambda: fp32.detector.detect(images[:4]), 4),
            "detect_per_image_int8": cpu_ms(lambda: int8.detector.detect(images[:4]), 4),
        },
        "graph_mb": {
            role: {"fp32": round(a.stat().st_size / 1e6, 1), "int8": round(b.stat().st_size / 1e6, 1)}
            for role, a, b in (
                ("image_encoder", fp32.files.image_encoder_path, int8.files.image_encoder_path),
                ("detector", fp32.files.detector_path, int8.files.detector_path),
            )
        },
        "load_average_before": load_before,
        "load_average_after": load_average(),
    }
    print(write_result("quantized", figures).read_text())


if __name__ == "__main__":
    main()

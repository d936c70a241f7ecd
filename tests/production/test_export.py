"""`pixseek models export` on the real architectures with random weights: files, manifests, parity."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pixseek.models.clip_tokenizer import ClipTokenizer
from pixseek.models.pack_manifest import ModelPackFiles
from tests.production.conftest import run_export_python

pytestmark = pytest.mark.export

# Punctuation, contractions, case, HTML entities, accents, CJK, emoji, digits, over-long text.
TOKENIZER_TEXTS = [
    "a photo of a cat",
    "A DOG's toy, isn't it?!",
    "  café  naïve   résumé ",
    "日本語のテキスト 東京タワー",
    "emoji 🐶🚀 and ½ ² Ⅷ",
    "&amp;lt;b&amp;gt; html &quot;quoted&quot;",
    "we'll they've I'M o'clock",
    "Straße İstanbul ﬁne — “quotes” – dashes",
    "e\u0301 combining, under_score, hyphen-ated, 3.14159 1234567",
    "tab\tnew\nline",
    "",
    "word " * 100,
]


def test_export_writes_a_pack_described_by_its_manifests(mobileclip_pack: Path) -> None:
    files = ModelPackFiles(mobileclip_pack)
    embedder, detector = files.embedder, files.detector
    assert (embedder.model_id, embedder.source, embedder.weights) == (
        "mobileclip2-s2", "open_clip:MobileCLIP2-S2", "random"
    )  # fmt: skip
    # MobileCLIP2-S2: 512-d, 256 px, open_clip's settings for its `dfndr2b` weights (no mean/std shift).
    assert embedder.dim == 512
    assert (embedder.image.size, embedder.image.resize_mode) == (256, "shortest")
    assert embedder.image.mean == (0.0, 0.0, 0.0) and embedder.image.std == (1.0, 1.0, 1.0)
    assert embedder.tokenizer.context_length == 77
    assert "apple-amlr" in embedder.licence and "research" in embedder.licence
    assert (detector.model_id, detector.output_format) == ("yolo11s", "cxcywh_class_scores")
    assert (detector.input.width, detector.input.height) == (640, 640)
    assert len(detector.class_names) == 80 and detector.class_names[0] == "person"
    assert "AGPL-3.0" in detector.licence
    assert files.model_id.startswith("mobileclip2-s2+yolo11s@")
    assert files.unverified_graphs() == []


def test_every_graph_matches_pytorch(mobileclip_pack: Path, end_to_end_pack: Path) -> None:
    for pack in (mobileclip_pack, end_to_end_pack):
        files = ModelPackFiles(pack)
        parity = {**files.embedder.parity, **files.detector.parity}
        assert set(parity) == {"image_encoder", "text_encoder", "detector"}
        assert min(parity.values()) >= 0.999, parity


def test_end_to_end_detector_declares_its_own_output_format(end_to_end_pack: Path) -> None:
    files = ModelPackFiles(end_to_end_pack)
    assert (files.embedder.model_id, files.detector.model_id) == ("mobileclip2-s0", "yolo26n")
    assert files.detector.output_format == "xyxy_score_class"


def test_tokenizer_gives_open_clips_token_ids(export_python: Path, mobileclip_pack: Path) -> None:
    files = ModelPackFiles(mobileclip_pack)
    context = files.embedder.tokenizer.context_length
    script = (
        "import json, sys, open_clip\n"
        "from pathlib import Path\n"
        "from pixseek.models.clip_tokenizer import ClipTokenizer\n"
        "texts = json.loads(sys.argv[1])\n"
        "ours = ClipTokenizer(Path(sys.argv[2]), int(sys.argv[3]))(texts).tolist()\n"
        "theirs = open_clip.get_tokenizer('MobileCLIP2-S2')(texts).tolist()\n"
        "print(json.dumps([ours, theirs]))\n"
    )
    arguments = (json.dumps(TOKENIZER_TEXTS), str(files.vocab_path), str(context))
    ours, theirs = json.loads(run_export_python(export_python, "-c", script, *arguments))
    assert ours == theirs
    # Here, in the torch-free runtime environment, every text must match too.
    assert ClipTokenizer(files.vocab_path, context)(TOKENIZER_TEXTS).tolist() == theirs


def test_models_info_reports_the_pack_as_json(mobileclip_pack: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pixseek.cli.main", "models", "info", str(mobileclip_pack),
         "--json", "--verify"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["embedder"]["dim"] == 512 and info["modified_graphs"] == []


def test_unknown_model_is_refused(export_python: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(export_python), "-m", "pixseek.cli.main", "models", "export", "no-such-model",
         "--random-weights", "--out", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "unknown CLIP model" in done.stderr

"""The captioned and labeled set readers, on tiny files of each layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pixseek.eval.datasets import DatasetError, read_caption_set, read_labeled_set


def touch_images(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")  # readers check presence only; decoding comes later


def test_csv_of_file_and_caption_groups_captions_by_image(tmp_path: Path) -> None:
    touch_images(tmp_path, "a.jpg", "b.jpg")
    (tmp_path / "captions.csv").write_text(
        'file,caption\na.jpg,a cat\nb.jpg,"a bus, red"\na.jpg,  a  kitten \n'
    )
    data = read_caption_set(tmp_path / "captions.csv")
    assert data.images == (tmp_path / "a.jpg", tmp_path / "b.jpg")
    assert data.captions == ("a cat", "a kitten", "a bus, red")
    assert data.caption_image == (0, 0, 1)


def test_flickr_captions_txt_keeps_unquoted_commas_in_the_caption(tmp_path: Path) -> None:
    touch_images(tmp_path / "Images", "1.jpg")
    (tmp_path / "captions.txt").write_text("image,caption\n1.jpg,A dog , running on grass .\n")
    data = read_caption_set(tmp_path / "captions.txt", tmp_path / "Images")
    assert data.captions == ("A dog , running on grass .",)


def test_flickr_results_csv_with_pipes(tmp_path: Path) -> None:
    touch_images(tmp_path / "flickr30k_images", "10.jpg", "11.jpg")
    (tmp_path / "results.csv").write_text(
        "image_name| comment_number| comment\n10.jpg| 0| Two men talk .\n10.jpg| 1| Men talking .\n"
        "11.jpg| 0| A girl jumps .\n11.jpg| 1\n"  # a malformed line, as the real file has one
    )
    data = read_caption_set(tmp_path / "results.csv", tmp_path / "flickr30k_images")
    assert [p.name for p in data.images] == ["10.jpg", "11.jpg"]
    assert data.captions == ("Two men talk .", "Men talking .", "A girl jumps .")
    assert data.caption_image == (0, 0, 1)


def test_coco_captions_json(tmp_path: Path) -> None:
    touch_images(tmp_path / "val2017", "000001.jpg", "000002.jpg")
    coco = {
        "images": [{"id": 1, "file_name": "000001.jpg"}, {"id": 2, "file_name": "000002.jpg"}],
        "annotations": [
            {"image_id": 2, "id": 7, "caption": "A train."},
            {"image_id": 1, "id": 8, "caption": "A plane."},
            {"image_id": 2, "id": 9, "caption": "A locomotive."},
        ],
    }
    (tmp_path / "captions_val2017.json").write_text(json.dumps(coco))
    data = read_caption_set(tmp_path / "captions_val2017.json", tmp_path / "val2017")
    assert [p.name for p in data.images] == ["000002.jpg", "000001.jpg"]
    assert data.captions == ("A train.", "A locomotive.", "A plane.")
    assert data.caption_image == (0, 0, 1)


def test_limit_keeps_the_first_images_with_all_their_captions(tmp_path: Path) -> None:
    touch_images(tmp_path, "a.jpg", "b.jpg")
    (tmp_path / "c.csv").write_text("file,caption\na.jpg,one\nb.jpg,two\na.jpg,three\n")
    data = read_caption_set(tmp_path / "c.csv", limit=1)
    assert data.captions == ("one", "three")


def test_missing_images_and_unknown_layouts_are_reported(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("file,caption\nnope.jpg,a cat\n")
    with pytest.raises(DatasetError, match="missing"):
        read_caption_set(tmp_path / "c.csv")
    (tmp_path / "d.csv").write_text("path,label\nx.jpg,cat\n")
    with pytest.raises(DatasetError, match="column"):
        read_caption_set(tmp_path / "d.csv")
    (tmp_path / "e.json").write_text('{"images": []}')
    with pytest.raises(DatasetError, match="COCO"):
        read_caption_set(tmp_path / "e.json")


def test_labeled_folder_classes_in_name_order(tmp_path: Path) -> None:
    touch_images(tmp_path / "traffic_light", "1.jpg")
    touch_images(tmp_path / "cat", "1.png", "2.jpg")
    (tmp_path / "notes.txt").write_text("not a class")
    data = read_labeled_set(tmp_path)
    assert data.class_names == ("cat", "traffic light")
    assert [(p.parent.name, p.name) for p in data.images] == [
        ("cat", "1.png"), ("cat", "2.jpg"), ("traffic_light", "1.jpg"),
    ]  # fmt: skip
    assert data.labels == (0, 0, 1)

"""The web UI in real headless Chromium (Debian's `chromium`, driven by Playwright) on a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pixseek.models.starter.pack import StarterPack
from tests.api.live_server import live_server
from tests.helpers import copy_samples

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
SCREENSHOT = Path("/tmp/pixseek-ui.png")
SAMPLES = ("bus", "zidane", "chelsea", "coffee", "rocket", "motorcycle_left", "astronaut", "rgb")

sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install playwright)")
if not CHROMIUM.exists():
    pytest.skip("needs Debian's chromium (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return copy_samples(tmp_path_factory.mktemp("ui-samples"), SAMPLES)


@pytest.fixture(scope="module")
def base_url(
    tmp_path_factory: pytest.TempPathFactory, starter_pack: StarterPack, samples: list[Path]
) -> Iterator[str]:
    root = tmp_path_factory.mktemp("ui")
    with live_server(root / "db", starter_pack.image_embedder.cache_file.parent) as url:
        files = [("images", (path.name, path.read_bytes(), "application/octet-stream")) for path in samples]
        report = httpx.post(f"{url}/ingest/batch", files=files, timeout=120).json()
        assert report["indexed"] == len(samples)
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module (Playwright's sync API allows one running instance per thread)."""
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def page(browser: Any, base_url: str) -> Iterator[object]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(30_000)
    page.goto(f"{base_url}/ui/")
    page.wait_for_selector("#status.ready")
    yield page
    page.close()


def test_text_search_shows_cards_with_boxes_drawn(page: Any) -> None:
    page.fill("#query", "a bus and people in the street")
    page.press("#query", "Enter")
    page.wait_for_selector(".card")
    first = page.locator(".card").first
    assert "bus" in first.locator(".name").inner_text()
    assert first.locator("rect.box").count() > 0
    first.locator("img[src]").wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.card img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    # The boxes lie on the thumbnail: the SVG maps the original's pixels onto the drawn image.
    image_box = first.locator("img").bounding_box()
    rect_box = first.locator("rect.box").first.bounding_box()
    assert image_box and rect_box
    assert (
        image_box["x"] - 2 <= rect_box["x"]
        and rect_box["x"] + rect_box["width"] <= image_box["x"] + image_box["width"] + 2
    )
    page.screenshot(path=str(SCREENSHOT), full_page=False)


def test_object_search_highlights_the_matching_box(page: Any) -> None:
    page.select_option("#mode", "objects")
    page.fill("#query", "a person")
    page.press("#query", "Enter")
    page.wait_for_selector(".card rect.match")
    cards = page.locator(".card")
    assert cards.count() > 0
    for index in range(cards.count()):
        assert cards.nth(index).locator("rect.match").count() == 1
    page.select_option("#mode", "images")


def test_uploading_an_image_shows_similar_results(page: Any, samples: list[Path]) -> None:
    cat = next(path for path in samples if "chelsea" in path.name)
    page.set_input_files("#similar-file", str(cat))
    page.wait_for_selector("#context h2:has-text('Similar to')")
    page.wait_for_function("() => document.querySelector('.card .name')?.textContent.includes('chelsea')")
    assert page.locator(".card").count() >= 2


def test_clicking_a_result_shows_images_like_it(page: Any) -> None:
    first = page.locator(".card").first
    name = first.locator(".name").inner_text()
    first.click()
    page.wait_for_selector(f"#context h2:has-text('Similar to {name}')")
    page.wait_for_function(
        f"() => document.querySelectorAll('.card').length > 0 && "
        f"![...document.querySelectorAll('.card .name')].some(n => n.textContent === {name!r})"
    )


KEY = "ui-test-key"


@pytest.fixture(scope="module")
def keyed_url(tmp_path_factory: pytest.TempPathFactory, starter_pack: StarterPack) -> Iterator[str]:
    """A server that needs an API key, with no images yet."""
    root = tmp_path_factory.mktemp("ui-keyed")
    cache = starter_pack.image_embedder.cache_file.parent
    with live_server(root / "db", cache, PIXSEEK_API_KEY=KEY) as url:
        yield url


def test_with_an_api_key_the_page_asks_for_it_uploads_and_shows_thumbnails(
    browser: Any, keyed_url: str, samples: list[Path]
) -> None:
    with browser.new_context(viewport={"width": 1280, "height": 900}) as context:  # its own storage
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{keyed_url}/ui/")
        page.wait_for_selector("#key-dialog[open]")  # the server said a key is required
        page.fill("#key-input", KEY)
        page.click("#key-dialog button[value=save]")
        page.wait_for_selector("#status.ready")

        cat = next(path for path in samples if "chelsea" in path.name)
        page.set_input_files("#ingest-files", [str(cat)])  # an upload through the key-carrying fetch
        page.wait_for_selector("#toast.ok")
        assert "Added 1" in page.inner_text("#toast")

        page.fill("#query", "a cat")
        page.press("#query", "Enter")
        page.wait_for_selector(".card")
        # <img> cannot send the key: thumbnails arrive as blob URLs fetched with it, and they render.
        page.wait_for_function(
            "() => [...document.querySelectorAll('.card img')].every(i => i.complete && i.naturalWidth > 0)"
        )
        assert page.locator(".card img").first.get_attribute("src").startswith("blob:")
    assert httpx.get(f"{keyed_url}/search/text", params={"q": "cat"}).status_code == 401  # still keyed

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
        report = httpx.post(
            f"{url}/ingest/batch", files=files, params={"tags": "ui-sample"}, timeout=120
        ).json()
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


def test_a_slow_older_search_never_replaces_a_newer_one(page: Any) -> None:
    # The first text search is held back 1.5 s in the browser; the second, sent after it, answers first.
    page.evaluate(
        """() => {
          const plain = window.fetch, held = { left: 1 };
          window.fetch = (url, options) => String(url).includes('/search/hybrid') && held.left-- > 0
            ? new Promise((done) => setTimeout(() => done(plain(url, options)), 1500))
            : plain(url, options);
        }"""
    )
    page.fill("#query", "a bus and people in the street")
    page.press("#query", "Enter")
    page.fill("#query", "a cat")
    page.press("#query", "Enter")
    page.wait_for_function("() => document.querySelector('.card .name')?.textContent.includes('chelsea')")
    page.wait_for_timeout(2500)  # the held answer has arrived by now, and must have been dropped
    assert "chelsea" in page.locator(".card .name").first.inner_text()


def test_a_failed_search_clears_the_old_results_and_says_why(page: Any, tmp_path: Path) -> None:
    page.fill("#query", "a cat")
    page.press("#query", "Enter")
    page.wait_for_selector(".card")
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_text("not an image")
    page.set_input_files("#similar-file", str(not_an_image))
    page.wait_for_selector("#message:has-text('Search failed')")
    assert page.locator(".card").count() == 0 and "decode" in page.inner_text("#message")


def test_keyboard_opens_a_result_and_enter_in_a_filter_searches(page: Any) -> None:
    page.fill("#query", "a cat")
    page.press("#query", "Enter")
    page.wait_for_selector(".card")
    first = page.locator(".card").first
    name = first.locator(".name").inner_text()
    first.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#context h2:has-text('Similar to {name}')")
    page.click("#filters summary")
    page.fill("#tags", "no-such-tag")
    page.press("#tags", "Enter")
    page.wait_for_selector("#message:has-text('No matching images.')")
    page.fill("#tags", "")
    page.click("#filters summary")


def test_similar_searches_apply_the_filters_too(page: Any, samples: list[Path]) -> None:
    page.fill("#query", "a cat")
    page.press("#query", "Enter")
    page.wait_for_selector(".card")
    page.click("#filters summary")
    page.fill("#tags", "no-such-tag")  # no stored image has it
    page.locator(".card").first.click()
    page.wait_for_selector("#context h2:has-text('Similar to')")
    page.wait_for_selector("#message:has-text('No matching images.')")
    page.set_input_files("#similar-file", str(samples[0]))
    page.wait_for_selector(f"#context h2:has-text('Similar to {samples[0].name}')")
    page.wait_for_selector("#message:has-text('No matching images.')")
    page.fill("#tags", "")
    page.click("#filters summary")


def test_the_tags_filter_suggests_the_library_s_tags(page: Any) -> None:
    page.wait_for_function(
        "() => [...document.querySelectorAll('#tag-list option')].some(o => o.value === 'ui-sample')"
    )
    label = page.eval_on_selector("#tag-list option[value='ui-sample']", "o => o.label")
    assert label == f"{len(SAMPLES)} images"


def test_an_empty_query_browses_the_library_newest_first(page: Any) -> None:
    page.fill("#query", "")
    page.press("#query", "Enter")
    page.wait_for_selector("#context h2:has-text('Library, newest capture first')")
    page.wait_for_function(f"() => document.querySelectorAll('.card').length === {len(SAMPLES)}")
    page.click("#filters summary")
    page.fill("#tags", "no-such-tag")
    page.press("#tags", "Enter")
    page.wait_for_selector("#message:has-text('No matching images.')")
    page.fill("#tags", "")
    page.click("#filters summary")


def test_details_show_an_image_s_facts_and_its_objects(page: Any) -> None:
    page.fill("#query", "a bus and people in the street")
    page.press("#query", "Enter")
    page.wait_for_function("() => document.querySelector('.card .name')?.textContent.includes('bus')")
    page.locator(".card .details").first.click()
    page.wait_for_selector("#detail-dialog[open]")
    assert "bus" in page.inner_text("#detail-name") and "810 × 1080" in page.inner_text("#detail-facts")
    assert "person" in page.inner_text("#detail-objects")
    assert page.get_attribute("#detail-original", "href").endswith("/file")
    page.click("#detail-close")
    assert page.locator("#detail-dialog[open]").count() == 0


def test_a_phone_wide_page_keeps_every_control_on_screen(browser: Any, base_url: str) -> None:
    phone = browser.new_page(viewport={"width": 375, "height": 740})
    errors: list[str] = []
    phone.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    phone.goto(f"{base_url}/ui/")
    phone.wait_for_selector("#status.ready")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    for selector in ("#query", "#search-form button[type=submit]", "label:has(#similar-file)"):
        box = phone.locator(selector).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375, selector
    assert errors == []  # no failed request either (the favicon is inline)
    phone.close()


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
        page.press("#key-input", "Enter")  # Enter saves
        page.wait_for_selector("#status.ready")
        page.wait_for_function("() => document.querySelectorAll('#class-list option').length > 0")

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

        page.locator(".card .details").first.click()  # delete it through the details, with the key
        page.on("dialog", lambda dialog: dialog.accept())  # "Delete ... from the library?"
        page.click("#detail-delete")
        page.wait_for_selector("#toast.ok:has-text('Deleted')")
        assert page.locator(".card").count() == 0
        page.wait_for_selector("#status:has-text('0 images')")
    assert httpx.get(f"{keyed_url}/search/text", params={"q": "cat"}).status_code == 401  # still keyed


def test_cancelling_the_key_asks_once_and_classes_load_once_a_key_is_saved(
    browser: Any, keyed_url: str
) -> None:
    with browser.new_context(viewport={"width": 1280, "height": 900}) as context:
        page = context.new_page()
        page.set_default_timeout(60_000)
        opened: list[bool] = []
        page.expose_function("keyDialogOpened", lambda: opened.append(True))
        page.add_init_script(
            """document.addEventListener('DOMContentLoaded', () => new MutationObserver(() => {
                 if (document.getElementById('key-dialog').open) window.keyDialogOpened();
               }).observe(document.getElementById('key-dialog'), { attributes: true }));"""
        )
        page.goto(f"{keyed_url}/ui/")
        page.wait_for_selector("#key-dialog[open]")
        page.click("#key-cancel")
        page.wait_for_timeout(1500)
        assert page.locator("#key-dialog[open]").count() == 0 and len(opened) == 1  # not asked again
        page.click("#key-button")
        page.fill("#key-input", KEY)
        page.click("#key-dialog button[value=save]")
        page.wait_for_function("() => document.querySelectorAll('#class-list option').length > 0")
        page.click("#filters summary")
        page.fill("#class-input", "person")
        page.press("#class-input", "Enter")
        page.wait_for_selector("#class-chips .chip:has-text('person')")

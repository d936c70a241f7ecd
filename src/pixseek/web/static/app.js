// pixseek web UI: plain JavaScript over the JSON API (no build step).
"use strict";

const KEY_STORAGE = "pixseek.apiKey";
const PAGE_SIZE = 24;
const SVG_NS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

const ui = {
  classes: [],          // known detector classes, from /classes
  chosenClasses: [],
  lastSearch: null,     // () => Promise<items>, re-run with a larger offset by "Load more"
  offset: 0,
  blobUrls: [],         // thumbnails fetched with the API key, revoked on each new search
};

// --- API ---------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
  }
}

async function api(path, options = {}, retried = false) {
  const headers = new Headers(options.headers || {});
  const key = localStorage.getItem(KEY_STORAGE);
  if (key) headers.set("X-API-Key", key);
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401 && !retried && (await askForKey())) return api(path, options, true);
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch { /* not JSON */ }
    throw new ApiError(response.status, body);
  }
  return response;
}

const getJson = async (path) => (await api(path)).json();
const postJson = async (path, body) =>
  (await api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })).json();

// One dialog at a time: parallel requests that get 401 all wait for the same answer.
let keyPrompt = null;
function askForKey() {
  if (keyPrompt) return keyPrompt;
  const dialog = $("key-dialog");
  $("key-input").value = localStorage.getItem(KEY_STORAGE) || "";
  dialog.showModal();
  keyPrompt = new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      const save = dialog.returnValue === "save" && $("key-input").value.trim();
      if (save) localStorage.setItem(KEY_STORAGE, $("key-input").value.trim());
      keyPrompt = null;
      resolve(Boolean(save));
    }, { once: true });
  });
  return keyPrompt;
}

// <img> cannot send headers: with a key, thumbnails come through fetch as blob URLs.
async function imageSource(url) {
  if (!localStorage.getItem(KEY_STORAGE)) return url;
  const blob = await (await api(url)).blob();
  const blobUrl = URL.createObjectURL(blob);
  ui.blobUrls.push(blobUrl);
  return blobUrl;
}

// --- rendering ---------------------------------------------------------------------------
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// The SVG uses the original's pixel space as viewBox and "meet" fitting, the same fit as the
// image's object-fit: contain, so boxes in original pixels land on the thumbnail wherever it sits.
function frameFor(item, matchIndex) {
  const frame = el("div", "frame");
  const img = el("img");
  img.alt = item.filename;
  img.loading = "lazy";
  imageSource(`${item.thumbnail_url}?size=320`).then((src) => { img.src = src; }).catch(() => {});
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${item.width} ${item.height}`);
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  const fontSize = Math.max(item.width, item.height) / 22;
  item.detections.forEach((det, index) => {
    const { x1, y1, x2, y2 } = det.bbox;
    const rect = document.createElementNS(SVG_NS, "rect");
    rect.setAttribute("x", x1); rect.setAttribute("y", y1);
    rect.setAttribute("width", Math.max(0, x2 - x1)); rect.setAttribute("height", Math.max(0, y2 - y1));
    rect.setAttribute("vector-effect", "non-scaling-stroke");
    rect.classList.add("box");
    if (index === matchIndex) rect.classList.add("match");
    const label = document.createElementNS(SVG_NS, "text");
    label.setAttribute("x", x1 + fontSize * 0.25);
    label.setAttribute("y", y1 + fontSize);
    label.setAttribute("font-size", fontSize);
    label.setAttribute("stroke-width", fontSize / 6);
    label.classList.add("label");
    label.textContent = `${det.class_name} ${Math.round(det.confidence * 100)}%`;
    const title = document.createElementNS(SVG_NS, "title");
    title.textContent = label.textContent;
    rect.append(title);
    svg.append(rect, label);
  });
  frame.append(img, svg);
  return frame;
}

function card(item) {
  const matchIndex = item.object ? item.object_index : -1;
  const node = el("article", "card");
  node.dataset.imageId = item.image_id;
  node.title = "Show similar images";
  const meta = el("div", "meta");
  meta.append(el("div", "name", item.filename));
  const row = el("div", "row");
  const classes = [...new Set(item.detections.map((d) => d.class_name))].slice(0, 3).join(", ");
  row.append(el("span", "", item.object ? `▣ ${item.object.class_name}` : classes || "no objects"));
  row.append(el("span", "score", item.score.toFixed(3)));
  meta.append(row);
  node.append(frameFor(item, matchIndex), meta);
  node.addEventListener("click", () => showSimilar(item));
  return node;
}

function showResults(items, append) {
  const grid = $("results");
  if (!append) grid.replaceChildren();
  items.forEach((item) => grid.append(card(item)));
  const count = grid.children.length;
  $("message").textContent = count ? "" : "No matching images.";
  $("message").hidden = count > 0;
  $("more").hidden = items.length < PAGE_SIZE;
}

function showContext(item, heading, detail) {
  const context = $("context");
  context.replaceChildren();
  if (!heading) { context.hidden = true; return; }
  const text = el("div");
  text.append(el("h2", "", heading), el("p", "", detail));
  if (item) context.append(frameFor(item, -1));
  context.append(text);
  context.hidden = false;
}

function toast(message, ok = false) {
  const node = $("toast");
  node.textContent = message;
  node.className = ok ? "toast ok" : "toast";
  node.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { node.hidden = true; }, 4000);
}

// --- searches ----------------------------------------------------------------------------
function filters() {
  const tags = $("tags").value.split(",").map((t) => t.trim()).filter(Boolean);
  return {
    yolo_classes: ui.chosenClasses.length ? ui.chosenClasses : null,
    min_confidence: Number($("min-confidence").value),
    date_from: $("date-from").value || null,
    date_to: $("date-to").value || null,
    tags: tags.length ? tags : null,
    sort: $("sort").value,
  };
}

async function run(search, append = false) {
  if (!append) {
    ui.offset = 0;
    ui.blobUrls.forEach((url) => URL.revokeObjectURL(url));
    ui.blobUrls = [];
  }
  ui.lastSearch = search;
  $("results").setAttribute("aria-busy", "true");
  try {
    showResults(await search(ui.offset), append);
  } catch (error) {
    toast(error.message);
  } finally {
    $("results").removeAttribute("aria-busy");
  }
}

function textSearch() {
  const text = $("query").value.trim();
  if (!text) return;
  const objects = $("mode").value === "objects";
  showContext(null, objects ? `Objects matching “${text}”` : "", "");
  run((offset) => postJson(objects ? "/search/objects" : "/search/hybrid",
    { text_query: text, k: PAGE_SIZE, offset, ...filters() }));
}

function showSimilar(item) {
  showContext(item, `Similar to ${item.filename}`, `${item.width}×${item.height} · ${item.num_detections} objects`);
  const sort = $("sort").value;
  run((offset) => getJson(`/images/${item.image_id}/similar?k=${PAGE_SIZE}&offset=${offset}&sort=${sort}`));
  window.scrollTo({ top: 0, behavior: "smooth" });
}

function similarToUpload(file) {
  showContext(null, `Similar to ${file.name}`, "uploaded image (not stored)");
  run(async (offset) => {
    const form = new FormData();
    form.append("image", file);
    const response = await api(`/search/similar?k=${PAGE_SIZE}&offset=${offset}&sort=${$("sort").value}`,
      { method: "POST", body: form });
    return response.json();
  });
}

async function ingest(files) {
  const form = new FormData();
  [...files].forEach((file) => form.append("images", file));
  try {
    const report = await (await api("/ingest/batch", { method: "POST", body: form })).json();
    toast(`Added ${report.indexed}, already there ${report.existing}, rejected ${report.rejected}`, report.rejected === 0);
    refreshStatus();
  } catch (error) {
    toast(error.message);
  }
}

// --- filters and status ------------------------------------------------------------------
function renderChips() {
  const chips = $("class-chips");
  chips.replaceChildren(...ui.chosenClasses.map((name) => {
    const chip = el("button", "chip", `${name} ×`);
    chip.type = "button";
    chip.addEventListener("click", () => {
      ui.chosenClasses = ui.chosenClasses.filter((c) => c !== name);
      renderChips();
    });
    return chip;
  }));
  const active = ui.chosenClasses.length + ["date-from", "date-to", "tags"].filter((id) => $(id).value).length;
  $("filter-count").textContent = active;
  $("filter-count").hidden = active === 0;
}

function addClass() {
  const name = $("class-input").value.trim();
  if (!name) return;
  if (!ui.classes.includes(name)) { toast(`Unknown class “${name}”`); return; }
  if (!ui.chosenClasses.includes(name)) ui.chosenClasses.push(name);
  $("class-input").value = "";
  renderChips();
}

async function refreshStatus() {
  const status = $("status");
  let health = null;
  try {
    health = await (await fetch("/health")).json();
  } catch { /* server down */ }
  const ready = Boolean(health && health.ready);
  status.className = `status ${ready ? "ready" : "down"}`;
  status.textContent = ready ? `${health.store.images} images` : (health ? health.status : "offline");
  const keyRequired = Boolean(health && health.api_key_required);
  $("key-button").hidden = !keyRequired;
  if (keyRequired && !localStorage.getItem(KEY_STORAGE)) await askForKey();
  if (!ready) { setTimeout(refreshStatus, 2000); return; }
  if (!ui.classes.length) {
    try {
      ui.classes = (await getJson("/classes")).classes;
      $("class-list").replaceChildren(...ui.classes.map((name) => Object.assign(el("option"), { value: name })));
    } catch (error) { toast(error.message); }
  }
}

function wire() {
  $("search-form").addEventListener("submit", (event) => { event.preventDefault(); textSearch(); });
  $("similar-file").addEventListener("change", (event) => {
    if (event.target.files.length) similarToUpload(event.target.files[0]);
    event.target.value = "";
  });
  $("ingest-files").addEventListener("change", (event) => {
    if (event.target.files.length) ingest(event.target.files);
    event.target.value = "";
  });
  $("class-input").addEventListener("change", addClass);
  $("class-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); addClass(); }
  });
  $("min-confidence").addEventListener("input", (event) => {
    $("conf-out").textContent = Number(event.target.value).toFixed(2);
  });
  ["date-from", "date-to", "tags"].forEach((id) => $(id).addEventListener("change", renderChips));
  $("more").addEventListener("click", () => {
    ui.offset += PAGE_SIZE;
    if (ui.lastSearch) run(ui.lastSearch, true);
  });
  $("key-button").addEventListener("click", askForKey);
  // Drop an image anywhere: search by it.
  document.addEventListener("dragover", (event) => { event.preventDefault(); document.body.classList.add("dragging"); });
  document.addEventListener("dragleave", () => document.body.classList.remove("dragging"));
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    document.body.classList.remove("dragging");
    const file = event.dataTransfer.files[0];
    if (file) similarToUpload(file);
  });
}

wire();
refreshStatus();

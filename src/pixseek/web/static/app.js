// pixseek web UI: plain JavaScript over the JSON API (no build step).
"use strict";

const KEY_STORAGE = "pixseek.apiKey";
const PAGE_SIZE = 24;
const SVG_NS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

const MAX_WINDOW = 10000;  // the API's cap on offset + k
const ui = {
  classes: [],          // known detector classes, from /classes
  chosenClasses: [],
  lastSearch: null,     // (offset, k) => Promise<items>, re-run with a larger offset by "Load more"
  offset: 0,
  searchId: 0,          // the newest search: answers of older ones are dropped
  blobUrls: [],         // thumbnails fetched with the API key, revoked on each new search
  keyAsked: false,      // asked once at load; later only when a request gets 401
  statusTimer: null,
};

// --- API ---------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, body, message) {
    super(message || (body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
  }
}

async function api(path, options = {}, retried = false) {
  const headers = new Headers(options.headers || {});
  const key = localStorage.getItem(KEY_STORAGE);
  if (key) headers.set("X-API-Key", key);
  let response;
  try {
    response = await fetch(path, { ...options, headers });
  } catch {
    refreshStatus();  // shows "offline" and polls until the server is back
    throw new ApiError(0, null, "The server is unreachable: is `pixseek serve` running?");
  }
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
  dialog.returnValue = "";
  dialog.showModal();
  keyPrompt = new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      const save = dialog.returnValue === "save" && $("key-input").value.trim();
      if (save) localStorage.setItem(KEY_STORAGE, $("key-input").value.trim());
      keyPrompt = null;
      resolve(Boolean(save));
      if (save && !ui.classes.length) loadClasses();  // they need the key too
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
function frameFor(item, matchIndex, size = 320) {
  const frame = el("div", "frame");
  const img = el("img");
  img.alt = item.filename;
  img.loading = "lazy";
  imageSource(`${item.thumbnail_url}?size=${size}`).then((src) => { img.src = src; }).catch(() => {});
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
  node.tabIndex = 0;
  const meta = el("div", "meta");
  const head = el("div", "head");
  const details = el("button", "details", "ⓘ");
  details.type = "button";
  details.title = `Details of ${item.filename}`;
  details.setAttribute("aria-label", details.title);
  details.addEventListener("click", (event) => { event.stopPropagation(); showDetails(item); });
  head.append(el("div", "name", item.filename), details);
  meta.append(head);
  const row = el("div", "row");
  const classes = [...new Set(item.detections.map((d) => d.class_name))].slice(0, 3).join(", ");
  row.append(el("span", "", item.object ? `▣ ${item.object.class_name}` : classes || "no objects"));
  const captured = item.captured_at ? item.captured_at.slice(0, 10) : "";
  row.append(el("span", "score", item.score === undefined ? captured : item.score.toFixed(3)));
  meta.append(row);
  node.append(frameFor(item, matchIndex), meta);
  node.addEventListener("click", () => showSimilar(item));
  node.addEventListener("keydown", (event) => {
    if (event.target === node && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      showSimilar(item);
    }
  });
  return node;
}

// A page asks for one result more than it shows: that one says whether "Load more" has anything.
function showResults(items, append) {
  const grid = $("results");
  if (!append) grid.replaceChildren();
  items.slice(0, PAGE_SIZE).forEach((item) => grid.append(card(item)));
  const count = grid.children.length;
  $("message").textContent = count ? "" : "No matching images.";
  $("message").hidden = count > 0;
  $("more").hidden = items.length <= PAGE_SIZE || ui.offset + PAGE_SIZE >= MAX_WINDOW;
}

function showFailure(message) {
  $("results").replaceChildren();
  $("more").hidden = true;
  $("message").textContent = `Search failed: ${message}`;
  $("message").hidden = false;
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
// Read once when a search starts: "Load more" pages through that search, whatever changed since.
function filters() {
  const tags = $("tags").value.split(",").map((t) => t.trim()).filter(Boolean);
  const minScore = $("min-score").value;
  const classes = ui.chosenClasses.length ? [...ui.chosenClasses] : null;
  // The slider qualifies the chosen classes for image searches, and every box for object search.
  const confidence = classes || $("mode").value === "objects";
  return {
    yolo_classes: classes,
    ...(confidence ? { min_confidence: Number($("min-confidence").value) } : {}),
    date_from: $("date-from").value || null,
    date_to: $("date-to").value || null,
    tags: tags.length ? tags : null,
    sort: $("sort").value,
    ...(minScore === "" ? {} : { min_score: Number(minScore) }),
  };
}

// The query string of the GET and upload searches: paging and the same filters as the JSON ones.
function pageQuery(offset, k, chosen) {
  const query = new URLSearchParams({ k, offset });
  for (const [name, value] of Object.entries(chosen)) {  // lists comma-separated
    if (value === null || value === undefined) continue;
    query.set(name, Array.isArray(value) ? value.join(",") : value);
  }
  return query;
}

async function run(search, append = false) {
  const id = append ? ui.searchId : ++ui.searchId;
  if (!append) {
    ui.offset = 0;
    ui.blobUrls.forEach((url) => URL.revokeObjectURL(url));
    ui.blobUrls = [];
  }
  ui.lastSearch = search;
  const k = Math.min(PAGE_SIZE + 1, MAX_WINDOW - ui.offset);
  $("results").setAttribute("aria-busy", "true");
  try {
    const items = await search(ui.offset, k);
    if (id === ui.searchId) showResults(items, append);  // else a newer search owns the page
  } catch (error) {
    if (id !== ui.searchId) return;
    if (!append) showFailure(error.message);
    toast(error.message);
  } finally {
    if (id === ui.searchId) $("results").removeAttribute("aria-busy");
  }
}

function textSearch() {
  const text = $("query").value.trim();
  if (!text) { browse(); return; }
  const objects = $("mode").value === "objects";
  const chosen = filters();
  showContext(null, objects ? `Objects matching “${text}”` : "", "");
  run((offset, k) => postJson(objects ? "/search/objects" : "/search/hybrid",
    { text_query: text, k, offset, ...chosen }));
}

// An empty query browses the library, newest capture first, with the same filters.
function browse() {
  const chosen = filters();
  delete chosen.sort;  // GET /images lists by date and has no scores
  delete chosen.min_score;
  showContext(null, "Library, newest capture first", "search with words, or an image, to rank by likeness");
  run((offset, k) => getJson(`/images?${pageQuery(offset, k, chosen)}`));
}

function showSimilar(item) {
  showContext(item, `Similar to ${item.filename}`, `${item.width}×${item.height} · ${item.num_detections} objects`);
  const chosen = filters();
  run((offset, k) => getJson(`/images/${item.image_id}/similar?${pageQuery(offset, k, chosen)}`));
  window.scrollTo({ top: 0, behavior: "smooth" });
}

function similarToUpload(file) {
  showContext(null, `Similar to ${file.name}`, "uploaded image (not stored)");
  const chosen = filters();
  run(async (offset, k) => {
    const form = new FormData();
    form.append("image", file);
    const response = await api(`/search/similar?${pageQuery(offset, k, chosen)}`, { method: "POST", body: form });
    return response.json();
  });
}

// --- one image: details, original, delete --------------------------------------------------
function showDetails(item) {
  const dialog = $("detail-dialog");
  dialog.dataset.imageId = item.image_id;
  $("detail-frame").replaceChildren(frameFor(item, item.object ? item.object_index : -1, 640));
  $("detail-name").textContent = item.filename;
  const facts = [
    ["Size", `${item.width} × ${item.height}`],
    ["Captured", item.captured_at ? item.captured_at.replace("T", " ").replace(/(\.\d+)?(Z|\+00:00)$/, " UTC") : "unknown"],
    ["Tags", item.tags.length ? item.tags.join(", ") : "none"],
    ["Id", item.image_id.slice(0, 12)],
  ];
  $("detail-facts").replaceChildren(...facts.flatMap(([term, value]) => [el("dt", "", term), el("dd", "", value)]));
  $("detail-objects").replaceChildren(...item.detections.map((det) =>
    el("li", "", `${det.class_name} ${Math.round(det.confidence * 100)}%`)));
  const original = $("detail-original");
  original.href = item.image_url;
  original.onclick = async (event) => {  // with a key, the original comes through fetch too
    if (!localStorage.getItem(KEY_STORAGE)) return;
    event.preventDefault();
    try { window.open(await imageSource(item.image_url), "_blank", "noopener"); } catch (error) { toast(error.message); }
  };
  $("detail-similar").onclick = () => { dialog.close(); showSimilar(item); };
  $("detail-delete").onclick = () => deleteImage(item);
  dialog.showModal();
}

async function deleteImage(item) {
  if (!window.confirm(`Delete “${item.filename}” from the library? Uploaded copies are removed too.`)) return;
  try {
    await api(`/images/${item.image_id}`, { method: "DELETE" });
  } catch (error) {
    toast(error.message);
    return;
  }
  $("detail-dialog").close();
  document.querySelectorAll(`.card[data-image-id="${item.image_id}"]`).forEach((node) => node.remove());
  if (!$("results").children.length) { $("message").textContent = "No matching images."; $("message").hidden = false; }
  toast(`Deleted ${item.filename}`, true);
  refreshStatus();
}

async function ingest(files) {
  const form = new FormData();
  [...files].forEach((file) => form.append("images", file));
  try {
    const report = await (await api("/ingest/batch", { method: "POST", body: form })).json();
    toast(`Added ${report.indexed}, already there ${report.existing}, rejected ${report.rejected}`, report.rejected === 0);
    refreshStatus();
    loadTags();
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
  const active = ui.chosenClasses.length + ["date-from", "date-to", "tags", "min-score"].filter((id) => $(id).value).length;
  $("filter-count").textContent = active;
  $("filter-count").hidden = active === 0;
}

async function addClass() {
  const name = $("class-input").value.trim();
  if (!name) return;
  if (!ui.classes.length) await loadClasses();  // not loaded yet (no key at start-up)
  if (!ui.classes.includes(name)) { toast(`Unknown class “${name}”`); return; }
  if (!ui.chosenClasses.includes(name)) ui.chosenClasses.push(name);
  $("class-input").value = "";
  renderChips();
}

async function loadClasses() {
  try {
    ui.classes = (await getJson("/classes")).classes;
    $("class-list").replaceChildren(...ui.classes.map((name) => Object.assign(el("option"), { value: name })));
  } catch (error) { toast(error.message); }
  await loadTags();
}

// The library's tags as suggestions for the Tags filter, most used first.
async function loadTags() {
  try {
    const { tags } = await getJson("/tags");
    $("tag-list").replaceChildren(...tags.map(({ tag, images }) =>
      Object.assign(el("option"), { value: tag, label: `${images} images` })));
  } catch { /* suggestions only: searching works without them */ }
}

// Polls every 2 s while the server is starting or unreachable.
async function refreshStatus() {
  clearTimeout(ui.statusTimer);
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
  if (!ready) { ui.statusTimer = setTimeout(refreshStatus, 2000); return; }
  const hasKey = () => Boolean(localStorage.getItem(KEY_STORAGE));
  if (keyRequired && !hasKey() && !ui.keyAsked) { ui.keyAsked = true; await askForKey(); }
  if (!ui.classes.length && (!keyRequired || hasKey())) await loadClasses();
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
  ["date-from", "date-to", "tags", "min-score"].forEach((id) => $(id).addEventListener("change", renderChips));
  // Enter in a filter field searches, as in the query box (the class box adds its class instead).
  $("filters").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.tagName === "INPUT" && event.target.id !== "class-input") {
      event.preventDefault();
      textSearch();
    }
  });
  // The upload buttons are labels around hidden file inputs: Enter or Space opens the picker.
  document.querySelectorAll("label.button").forEach((label) => label.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); label.querySelector("input").click(); }
  }));
  $("more").addEventListener("click", () => {
    ui.offset += PAGE_SIZE;
    if (ui.lastSearch) run(ui.lastSearch, true);
  });
  $("key-button").addEventListener("click", askForKey);
  $("key-cancel").addEventListener("click", () => $("key-dialog").close("cancel"));
  $("detail-close").addEventListener("click", () => $("detail-dialog").close());
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

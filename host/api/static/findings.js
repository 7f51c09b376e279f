// The findings page: lists recent findings (newest first) and opens one with its body,
// tables and attachments. Everything the host serves is escaped before it reaches the DOM.
// A finding's labels show as chips; clicking one keeps only the findings carrying that label
// (the page's own `?label=KEY=VALUE` parameters, passed on to the API; repeated: all of them).
// The toolbar narrows the list by namespace, severity and time (`?namespace=`, `?severity=`,
// `?since=`, passed on to the API too); the list comes from the host's findings store, a page
// at a time ("Older findings" asks for the next one).
// Every read needs a bearer token: the page asks for one, keeps it in this tab's sessionStorage
// only (never localStorage, never a URL) and sends it as an Authorization header. Attachments are
// fetched the same way: images are shown from blob: URLs (an <img> runs no script), other files
// are downloaded, never opened on this origin, where their scripts could read the token.
"use strict";

const state = { items: [], selected: null, next: null, blobs: new Map() };  // blobs: attachment URL -> blob: URL
const TOKEN_KEY = "wfhost.apiToken";
const SEVERITIES = ["info", "low", "medium", "high", "critical"];
const PAGE = 200;
const $ = (id) => document.getElementById(id);

function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// A small, safe Markdown subset: headings, fenced code, tables, lists, bold, inline code, links.
function inline(text) {
  return esc(text)
    .replace(/`([^`]+)`/g, "<code>$1</code>")
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
    .replace(/\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)/g, '<a href="$2" rel="noopener noreferrer" target="_blank">$1</a>');
}

function markdown(src) {
  const lines = String(src ?? "").split("\n");
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith("```")) {
      const code = [];
      for (i++; i < lines.length && !lines[i].startsWith("```"); i++) code.push(lines[i]);
      out.push(`<pre><code>${esc(code.join("\n"))}</code></pre>`);
    } else if (/^#{1,6} /.test(line)) {
      const level = Math.min(3, line.indexOf(" "));
      out.push(`<h${level}>${inline(line.slice(line.indexOf(" ") + 1))}</h${level}>`);
    } else if (line.trim().startsWith("|") && i + 1 < lines.length && /^\s*\|?\s*:?-{2,}/.test(lines[i + 1])) {
      // Cells split on unescaped pipes only; `\|` is a pipe inside a cell.
      const cells = (l) =>
        l.trim().replace(/^\||\|$/g, "").split(/(?<!\\)\|/).map((c) => c.trim().replaceAll("\\|", "|"));
      const head = cells(line);
      const rows = [];
      for (i += 2; i < lines.length && lines[i].trim().startsWith("|"); i++) rows.push(cells(lines[i]));
      i--;
      out.push(table(head, rows, inline));
    } else if (/^\s*[-*] /.test(line)) {
      const items = [];
      for (; i < lines.length && /^\s*[-*] /.test(lines[i]); i++) items.push(`<li>${inline(lines[i].replace(/^\s*[-*] /, ""))}</li>`);
      i--;
      out.push(`<ul>${items.join("")}</ul>`);
    } else if (line.trim()) {
      out.push(`<p>${inline(line)}</p>`);
    }
  }
  return out.join("\n");
}

function table(columns, rows, cell = esc) {
  const head = columns.map((c) => `<th>${cell(c)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${cell(c ?? "")}</td>`).join("")}</tr>`).join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

// A table the body already shows as Markdown (explainers put their evidence tables in both: the
// body for reading, `tables` for machines) is not shown twice.
function inBody(body, t) {
  const header = `| ${t.columns.map((c) => String(c).replaceAll("|", "\\|")).join(" | ")} |`;
  return String(body ?? "").includes(header);
}

function subjectOf(f) {
  return f.subject ? `${f.subject.namespace ?? ""}/${f.subject.name}` : "";
}

// The label filters in the page's URL, as [key, value] pairs.
function labelFilters() {
  return new URLSearchParams(location.search).getAll("label").map((item) => {
    const at = item.indexOf("=");
    return at < 0 ? [item, ""] : [item.slice(0, at), item.slice(at + 1)];
  });
}

// The page's URL with these label filters (the other filters kept as they are).
function filterQuery(filters) {
  const params = new URLSearchParams(location.search);
  params.delete("label");
  for (const [key, value] of filters) params.append("label", `${key}=${value}`);
  const query = params.toString();
  return query ? `?${query}` : location.pathname;
}

// The toolbar's filters, as the page's URL holds them.
function toolbarFilters() {
  const params = new URLSearchParams(location.search);
  return { namespace: params.get("namespace") ?? "", severity: params.get("severity") ?? "", since: params.get("since") ?? "" };
}

function hasToolbarFilters() {
  const f = toolbarFilters();
  return Boolean(f.namespace || f.severity || f.since);
}

// A toolbar change: into the URL (so a link keeps it), then reload the list.
function setFilter(name, value) {
  const params = new URLSearchParams(location.search);
  if (value) params.set(name, value);
  else params.delete(name);
  const query = params.toString();
  history.pushState(null, "", (query ? `?${query}` : location.pathname) + location.hash);
  load();
}

function showToolbar() {
  const f = toolbarFilters();
  $("namespace").value = f.namespace;
  $("since").value = f.since;
  // "high,critical" is "high and above"; a list the menu does not offer shows as it is.
  const options = [...$("severity").options].map((o) => o.value);
  if (f.severity && !options.includes(f.severity)) $("severity").add(new Option(f.severity, f.severity));
  $("severity").value = f.severity;
}

function labelsOf(f) {
  return Object.entries(f.labels ?? {});
}

// One chip per label: a link to this page filtered by the labels already chosen plus this one.
function chips(f) {
  const filters = labelFilters();
  const items = labelsOf(f).map(([key, value]) => {
    const chosen = filters.some(([k, v]) => k === key && v === value);
    const href = filterQuery(chosen ? filters : [...filters, [key, value]]);
    return `<a class="chip${chosen ? " chosen" : ""}" href="${esc(href)}" title="Show only findings with ${esc(key)}=${esc(value)}">` +
      `<span class="chip-key">${esc(key)}:</span> ${esc(value)}</a>`;
  });
  return items.length ? `<div class="chips">${items.join("")}</div>` : "";
}

function renderFilters() {
  const filters = labelFilters();
  $("label-filters").hidden = filters.length === 0;
  $("label-filters").innerHTML = filters.length === 0 ? "" : "Only findings with " + filters.map(([key, value], i) =>
    `<a class="chip chosen" href="${esc(filterQuery(filters.filter((_, j) => j !== i)))}" title="Remove this filter">` +
    `<span class="chip-key">${esc(key)}:</span> ${esc(value)} ×</a>`).join(" ");
}

function renderList() {
  const q = $("filter").value.trim().toLowerCase();
  const text = (f) => [f.title, f.workflow, subjectOf(f), ...labelsOf(f).map(([k, v]) => `${k}:${v}`)].join(" ");
  const items = state.items.filter((f) => !q || text(f).toLowerCase().includes(q));
  $("findings").innerHTML = items.map((f) => `
    <li data-id="${esc(f.id)}" class="${f.id === state.selected ? "active" : ""}">
      <div class="title"><span class="sev sev-${esc(f.severity)}">${esc(f.severity)}</span>${esc(f.title)}</div>
      <div class="meta">${esc(f.workflow)} · ${esc(subjectOf(f))} · ${esc(new Date(f.time).toLocaleString())}</div>
      ${chips(f)}
    </li>`).join("");
  $("empty").hidden = state.items.length > 0;
  $("empty").textContent = hasToolbarFilters() ? "No findings match these filters."
    : labelFilters().length ? "No findings with these labels." : "No findings yet. Trigger a workflow, or wait for one to fire.";
  $("older").hidden = state.next === null;
}

function renderDetail(f) {
  const images = f.attachments.filter((a) => a.mediaType.startsWith("image/"));
  const others = f.attachments.filter((a) => !a.mediaType.startsWith("image/"));
  $("detail").innerHTML = `
    <h2><span class="sev sev-${esc(f.severity)}">${esc(f.severity)}</span>${esc(f.title)}</h2>
    <p class="meta">${esc(f.workflow)} · ${esc(subjectOf(f))} · ${esc(new Date(f.time).toLocaleString())} · <code>${esc(f.id)}</code></p>
    ${chips(f)}
    <div class="body">${markdown(f.body)}</div>
    ${f.tables.filter((t) => !inBody(f.body, t)).map((t) => `${t.title ? `<h3>${esc(t.title)}</h3>` : ""}${table(t.columns, t.rows)}`).join("")}
    <div class="attachments">
      ${images.map((a) => `<figure><img data-src="${esc(a.url)}" alt="${esc(a.name)}"><figcaption class="meta">${attachmentLink(a)} (${a.size} bytes)</figcaption></figure>`).join("")}
      ${others.length ? `<h3>Attachments</h3><ul>${others.map((a) => `<li>${attachmentLink(a)} <span class="meta">${esc(a.mediaType)}, ${a.size} bytes</span></li>`).join("")}</ul>` : ""}
    </div>`;
  showImages();
}

function attachmentLink(a) {
  return `<a class="attachment" href="${esc(a.url)}" data-name="${esc(a.name)}" title="Download ${esc(a.name)}">${esc(a.name)}</a>`;
}

class Unauthorized extends Error {}

// A GET of the API with the tab's token; a 401 forgets the token and asks for another.
async function api(path) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) throw new Unauthorized("");
  const resp = await fetch(path, { headers: { Authorization: `Bearer ${token}` }, credentials: "omit", cache: "no-store" });
  if (resp.status === 401) {
    const doc = await resp.json().catch(() => ({}));
    sessionStorage.removeItem(TOKEN_KEY);
    throw new Unauthorized(doc.error ?? "the token was refused");
  }
  return resp;
}

function askForToken(message) {
  $("content").hidden = true;
  $("sign-out").hidden = true;
  $("sign-in").hidden = false;
  $("status").textContent = "";
  if (message) $("sign-in-error").textContent = `Not signed in: ${message}`;
  $("token").focus();
}

function signedIn() {
  $("sign-in").hidden = true;
  $("sign-in-error").textContent = "";
  $("content").hidden = false;
  $("sign-out").hidden = false;
}

// The opened finding's images, fetched with the token (once per finding) and shown from blob: URLs.
async function showImages() {
  const images = [...$("detail").querySelectorAll("img[data-src]")];
  const wanted = new Set(images.map((img) => img.dataset.src));
  for (const [src, url] of state.blobs) {
    if (!wanted.has(src)) {
      URL.revokeObjectURL(url);
      state.blobs.delete(src);
    }
  }
  for (const img of images) {
    try {
      let url = state.blobs.get(img.dataset.src);
      if (!url) {
        const resp = await api(img.dataset.src);
        if (!resp.ok) continue;
        url = URL.createObjectURL(await resp.blob());
        state.blobs.set(img.dataset.src, url);
      }
      img.src = url;
    } catch (err) {
      if (err instanceof Unauthorized) return askForToken(err.message);
    }
  }
}

// An attachment link: fetched with the token and saved as a file (never rendered on this origin).
async function download(link) {
  try {
    const resp = await api(link.getAttribute("href"));
    if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
    const file = new Blob([await resp.arrayBuffer()], { type: "application/octet-stream" });
    const url = URL.createObjectURL(file);
    const save = Object.assign(document.createElement("a"), { href: url, download: link.dataset.name });
    save.click();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (err) {
    if (err instanceof Unauthorized) askForToken(err.message);
    else $("status").textContent = `Cannot download ${link.dataset.name}: ${err.message}`;
  }
}

// One page of the listing, with the page's filters, from `offset`.
async function fetchPage(offset) {
  const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
  for (const [key, value] of labelFilters()) params.append("label", `${key}=${value}`);
  for (const [key, value] of Object.entries(toolbarFilters())) if (value) params.set(key, value);
  const resp = await api(`/api/v1/findings?${params}`);
  if (!resp.ok) {
    const doc = await resp.json().catch(() => ({}));
    throw new Error(doc.error ?? `HTTP ${resp.status}`);
  }
  return resp.json();
}

function showCount() {
  $("status").textContent = `${state.items.length}${state.next === null ? "" : "+"} findings · updated ${new Date().toLocaleTimeString()}`;
}

async function loadOlder() {
  if (state.next === null) return;
  try {
    const page = await fetchPage(state.next);
    const known = new Set(state.items.map((f) => f.id));
    state.items.push(...page.items.filter((f) => !known.has(f.id)));  // newer ones may have shifted the pages
    state.next = page.next;
    showCount();
    renderList();
  } catch (err) {
    if (err instanceof Unauthorized) askForToken(err.message);
    else $("status").textContent = `Cannot load findings: ${err.message}`;
  }
}

async function load() {
  if (!sessionStorage.getItem(TOKEN_KEY)) return askForToken("");
  try {
    renderFilters();
    showToolbar();
    const page = await fetchPage(0);
    state.items = page.items;
    state.next = page.next;
    signedIn();
    showCount();
    renderList();
    const wanted = state.selected ?? decodeURIComponent(location.hash.slice(1));
    const f = state.items.find((x) => x.id === wanted);
    if (f) select(f.id);
  } catch (err) {
    if (err instanceof Unauthorized) askForToken(err.message);
    else $("status").textContent = `Cannot load findings: ${err.message}`;
  }
}

function select(id) {
  const f = state.items.find((x) => x.id === id);
  if (!f) return;
  state.selected = id;
  history.replaceState(null, "", `${location.search}#${encodeURIComponent(id)}`);
  renderList();
  renderDetail(f);
}

// A chip filters in place (the link is the fallback, and what a new tab opens).
function followChip(e) {
  const chip = e.target.closest("a.chip");
  if (!chip || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return false;
  e.preventDefault();
  history.pushState(null, "", chip.getAttribute("href") + location.hash);
  load();
  return true;
}

$("findings").addEventListener("click", (e) => {
  if (followChip(e)) return;
  const li = e.target.closest("li[data-id]");
  if (li) select(li.dataset.id);
});
$("detail").addEventListener("click", (e) => {
  if (followChip(e)) return;
  const link = e.target.closest("a.attachment");
  if (!link || e.button !== 0) return;
  e.preventDefault();
  download(link);
});
$("sign-in").addEventListener("submit", (e) => {
  e.preventDefault();
  const token = $("token").value.trim();
  $("token").value = "";
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  load();
});
$("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  state.items = [];
  state.selected = null;
  $("findings").innerHTML = "";
  $("detail").innerHTML = '<p class="hint">Select a finding to see its report.</p>';
  askForToken("");
});
$("label-filters").addEventListener("click", followChip);
window.addEventListener("popstate", load);
$("filter").addEventListener("input", renderList);
$("refresh").addEventListener("click", load);
$("older").addEventListener("click", loadOlder);
$("namespace").addEventListener("change", (e) => setFilter("namespace", e.target.value.trim()));
$("severity").addEventListener("change", (e) => setFilter("severity", e.target.value));
$("since").addEventListener("change", (e) => setFilter("since", e.target.value));
for (const [i, sev] of SEVERITIES.entries()) {
  if (i === 0) continue;  // "info and above" is every finding
  const label = i === SEVERITIES.length - 1 ? sev : `${sev} and above`;
  $("severity").add(new Option(label, SEVERITIES.slice(i).join(",")));
}
load();
setInterval(load, 10000);

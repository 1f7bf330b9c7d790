// Gridbook back office: loads the JSON under /admin/api/ and draws the views. Every value from
// the server goes into the page as text (textContent), never as HTML. The chart is SVG drawn here.
"use strict";

const ZONE = "Asia/Shanghai";
/// The one registry of tabs, in nav order: id → { load(signal), render(data) }. A page in its own
/// file adds itself with registerTab(id, { load, render }) (its script tag after app.js), a nav
/// link <a data-view="id"> and a <section id="view-id" class="view">; nothing else here changes.
const TABS = new Map();
function registerTab(id, tab) {
  TABS.set(id, tab);
}
const HOME = "home";
const S = {
  view: HOME,
  period: "today",
  /// The archive tab: which grid, building, unit, search and page, and the household opened.
  arch: { grid: "", premises: "", unit: "", q: "", offset: 0, household: null },
  range: "24h",
  days: 14,
  summaryDays: 7,
  /// The lists the server pages: each tab's first row asked for (pages of `SERVER_PAGE` rows).
  pages: {},
  data: {},
  overview: null,
  refreshS: 30,
  timer: null,
  /// The load under way: { view, seq, ctl }. A newer load aborts it and its answer is dropped.
  inflight: null,
  seq: 0,
};

// ---- small helpers ----------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("data-")) e.setAttribute(k, v);
      else e.setAttribute(k, v);
    }
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function badge(text, cls) {
  return el("span", { class: "badge " + (cls || "") }, text);
}

function locale() {
  return GB_LANG === "en" ? "en-GB" : "zh-CN";
}

function fmtTime(ms) {
  if (ms === null || ms === undefined || ms === 0) return "—";
  return new Date(ms).toLocaleString(locale(), {
    timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  });
}

function fmtClock(ms) {
  return new Date(ms).toLocaleTimeString(locale(), { timeZone: ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function duration(seconds) {
  const s = Math.abs(Math.round(seconds));
  if (s < 60) return t("dur.s", { n: s });
  if (s < 3600) return t("dur.m", { n: Math.floor(s / 60) });
  if (s < 86400) return t("dur.h", { n: Math.floor(s / 3600) });
  return t("dur.d", { n: Math.floor(s / 86400) });
}

function ago(ms, now) {
  if (!ms) return t("never");
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return t("ago.s", { n: s });
  if (s < 3600) return t("ago.m", { n: Math.floor(s / 60) });
  if (s < 86400) return t("ago.h", { n: Math.floor(s / 3600) });
  return t("ago.d", { n: Math.floor(s / 86400) });
}

/// Fen to yuan with exact integer arithmetic: 12800 → ¥128.00
function yuan(fen) {
  const n = Number(fen) || 0;
  const sign = n < 0 ? "-" : "";
  const abs = Math.abs(n);
  const whole = Math.floor(abs / 100).toLocaleString("en-US");
  return sign + "¥" + whole + "." + String(abs % 100).padStart(2, "0");
}

function bytesText(n) {
  if (n === null || n === undefined) return "—";
  if (n < 1024) return n + " B";
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KB";
  if (n < 1024 * 1024 * 1024) return (n / 1024 / 1024).toFixed(1) + " MB";
  return (n / 1024 / 1024 / 1024).toFixed(1) + " GB";
}

function shortId(id) {
  return id && id.length > 10 ? id.slice(0, 8) + "…" : id || "—";
}

function label(prefix, value) {
  const key = prefix + "." + value;
  return hasText(key) ? t(key) : value;
}

/// Grid and people names by id (/admin/api/names), loaded once: pages show names, not ids.
const NAMES = { grids: {}, people: {} };

function gridName(id) {
  return (id && NAMES.grids[id]) || id || "—";
}

function personName(id) {
  return (id && NAMES.people[id]) || id || "—";
}

async function loadNames() {
  try {
    const n = await api("/admin/api/names");
    NAMES.grids = n.grids || {};
    NAMES.people = n.people || {};
    if (S.data[S.view]) TABS.get(S.view).render(S.data[S.view]);
  } catch (_) { /* ids stay readable */ }
}

function setStatus(text, cls) {
  const s = document.getElementById("status");
  s.textContent = text;
  s.className = cls || "muted";
}

/// Where each list is: its first row shown, by table id (pages of `LIST_PAGE` rows).
const LIST_PAGE = 100;
const LIST_AT = {};
/// Rows to a page of a list the server pages (`?rows=N` in the address asks for fewer, 1–50), and
/// the query asking for the tab's current page.
const SERVER_PAGE = Math.min(50, Math.max(1, Number(new URLSearchParams(location.search).get("rows")) || 50));
function pageQuery(view, prefix) {
  const p = prefix || "";
  return p + "offset=" + (S.pages[view] || 0) + "&" + p + "limit=" + SERVER_PAGE;
}

/// Rebuilds a table: columns are {h: text key, cell: row => node or text, cls: row => class}.
/// Every list shows its total, and a long one is shown a page at a time (opts.paged false: all).
function fillTable(id, columns, rows, opts) {
  const table = document.getElementById(id);
  table.replaceChildren();
  const head = el("tr");
  for (const c of columns) head.append(el("th", { class: c.num ? "num" : null }, t(c.h)));
  table.append(el("thead", null, head));
  const body = el("tbody");
  if (!rows.length) {
    body.append(el("tr", { class: "empty" }, el("td", { colspan: String(columns.length) }, (opts && opts.empty) || t("none"))));
  }
  // a page the server cut holds no more than a page: shown whole, its bar pages the server
  const paged = !(opts && (opts.paged === false || opts.server)) && rows.length > LIST_PAGE;
  const at = paged ? Math.min(LIST_AT[id] || 0, Math.floor((rows.length - 1) / LIST_PAGE) * LIST_PAGE) : 0;
  const shown = paged ? rows.slice(at, at + LIST_PAGE) : rows;
  for (const r of shown) {
    const tr = el("tr", { class: opts && opts.rowClass ? opts.rowClass(r) : null });
    if (opts && opts.rowKey) tr.setAttribute("data-key", opts.rowKey(r));
    for (const c of columns) {
      const v = c.cell(r);
      const td = el("td", { class: [c.num ? "num" : "", c.cls ? c.cls(r) : ""].join(" ").trim() || null });
      if (c.title) td.title = c.title(r);
      td.append(v instanceof Node ? v : document.createTextNode(v === null || v === undefined || v === "" ? "—" : String(v)));
      tr.append(td);
    }
    body.append(tr);
  }
  table.append(body);
  listPager(id, rows.length, at, paged, opts);
}

/// The line under a list: how many rows in all and, for a long list, which page with its buttons.
function listPager(id, total, at, paged, opts) {
  const wrap = document.getElementById(id).closest(".table-wrap");
  if (!wrap || (opts && opts.paged === false)) return;
  let bar = wrap.nextElementSibling;
  if (!bar || !bar.classList.contains("list-pager")) {
    bar = el("div", { class: "list-pager muted", "data-for": id });
    wrap.after(bar);
  }
  bar.replaceChildren();
  if (opts && opts.server) {
    serverPager(bar, total, opts.server);
    return;
  }
  if (!total) return;
  if (!paged) {
    bar.append(t("list.total", { n: total }));
    return;
  }
  const go = (to) => () => {
    LIST_AT[id] = to;
    if (S.data[S.view]) TABS.get(S.view).render(S.data[S.view]);
  };
  const prev = el("button", { type: "button", class: "page-prev" }, t("page.prev"));
  const next = el("button", { type: "button", class: "page-next" }, t("page.next"));
  prev.disabled = at <= 0;
  next.disabled = at + LIST_PAGE >= total;
  prev.addEventListener("click", go(Math.max(0, at - LIST_PAGE)));
  next.addEventListener("click", go(at + LIST_PAGE));
  bar.append(prev, el("span", null, t("list.page", { from: at + 1, to: Math.min(total, at + LIST_PAGE), total })), next);
}

/// The bar of a list the server pages: `page` is { view, total, offset, limit } as the server
/// answered; the buttons ask the server for the page before or after and the total says of how many.
function serverPager(bar, shown, page) {
  if (!page.total) {
    bar.append(t("list.total", { n: 0 }));
    return;
  }
  const go = (to) => () => {
    S.pages[page.view] = to;
    refresh(true);
  };
  const prev = el("button", { type: "button", class: "page-prev" }, t("page.prev"));
  const next = el("button", { type: "button", class: "page-next" }, t("page.next"));
  prev.disabled = page.offset <= 0;
  next.disabled = page.offset + shown >= page.total;
  prev.addEventListener("click", go(Math.max(0, page.offset - page.limit)));
  next.addEventListener("click", go(page.offset + page.limit));
  const text = t("list.page", { from: page.offset + 1, to: page.offset + shown, total: page.total });
  bar.append(prev, el("span", { class: "page-total" }, text), next);
}

// ---- data -------------------------------------------------------------------------------------

/// The login form, saying the session ended, returning to this tab afterwards.
function toLogin() {
  // several answers can say so at once: navigate once (a second navigation aborts the first)
  if (S.leaving) return;
  S.leaving = true;
  setStatus(t("session.expired"), "bad");
  clearInterval(S.timer);
  const next = encodeURIComponent(S.view);
  setTimeout(() => { location.href = "/admin/login?why=expired&next=" + next; }, 1500);
}

async function api(path, signal) {
  const r = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" }, signal });
  if (r.status === 401) {
    toLogin();
    throw new Error("401");
  }
  if (!r.ok) {
    let body = {};
    try { body = await r.json(); } catch (_) { /* not JSON */ }
    throw new Error(serverMessage(body, r.status));
  }
  return r.json();
}

/// A server's refusal as people read it: zh-CN first by its code, the server's own words beside
/// (they may be zh-CN / English already).
function serverMessage(body, status) {
  const m = (body && body.message) || String(status);
  const key = "error." + ((body && body.code) || "");
  if (!hasText(key) || /[\u4e00-\u9fff]/.test(m)) return m;
  return t(key) + " / " + m;
}

/// Loads the current view and the cards together. A tab clicked while another loads aborts that
/// load, and an answer that arrives after a newer load started is dropped: the page shows the
/// tab's own data, and the status line says "loading" until it does. `force` reloads the same view
/// (new parameters); the timer's refresh of a view already loading is skipped.
async function refresh(force) {
  const view = S.view;
  const tab = TABS.get(view);
  if (!tab) return;
  if (S.inflight && S.inflight.view === view && !force) return;
  if (S.inflight) S.inflight.ctl.abort();
  const ctl = new AbortController();
  const seq = ++S.seq;
  S.inflight = { view, seq, ctl };
  if (document.body.dataset.loaded !== view) document.body.dataset.loaded = "";
  setStatus(t("loading"));
  try {
    const [overview, data] = await Promise.all([api("/admin/api/overview", ctl.signal), tab.load(ctl.signal)]);
    if (seq !== S.seq) return;
    S.overview = overview;
    S.data[view] = data;
    renderOverview();
    tab.render(data);
    setStatus(t("updated", { t: fmtClock(Date.now()) }));
    document.body.dataset.loaded = view;
  } catch (e) {
    if (seq !== S.seq || e.name === "AbortError") return;
    if (e.message !== "401") setStatus(t("load.failed", { m: e.message }), "bad");
  } finally {
    if (S.inflight && S.inflight.seq === seq) S.inflight = null;
  }
}

// ---- overview cards ---------------------------------------------------------------------------

function renderOverview() {
  const o = S.overview;
  if (!o) return;
  const d = o.devices;
  const total = Object.values(d).reduce((a, b) => a + b, 0);
  // device health lives on its own tab for IT; here one card says how many need attention
  const cards = [
    { k: "card.attention", v: String(o.attention || 0), sub: t("card.attention.sub", { n: total - (d.revoked || 0) }), bad: o.attention > 0, view: "devices", id: "attention" },
    { k: "card.today", v: yuan(o.receipts_today.amount_fen), sub: t("count.receipts", { n: o.receipts_today.count }), view: "money", id: "today" },
    { k: "card.on_phones", v: yuan(o.on_phones.amount_fen), sub: t("count.receipts", { n: o.on_phones.count }), bad: o.on_phones.amount_fen > 0, view: "money", id: "on-phones" },
    { k: "card.voids", v: String(o.voids_pending), warn: o.voids_pending > 0, view: "money", id: "voids" },
    { k: "card.followups", v: String(o.follow_ups_overdue), warn: o.follow_ups_overdue > 0, view: "followups", id: "followups" },
  ];
  const box = document.getElementById("overview");
  box.replaceChildren();
  for (const c of cards) {
    const a = el("a", { class: "card" + (c.bad ? " bad" : c.warn ? " warn" : ""), href: "#" + c.view, "data-card": c.id },
      el("span", { class: "card-label" }, t(c.k)),
      el("span", { class: "card-value" }, c.v),
      c.sub ? el("span", { class: "card-sub" }, c.sub) : null);
    box.append(a);
  }
}

// ---- views ------------------------------------------------------------------------------------

function offsetText(ms) {
  if (ms === null || ms === undefined) return "—";
  if (Math.abs(ms) < 1000) return "±0";
  return t(ms > 0 ? "offset.ahead" : "offset.behind", { d: duration(ms / 1000) });
}

function renderDevices(data) {
  const th = data.thresholds;
  document.getElementById("devices-note").textContent =
    t("h.devices.note", { stuck: duration(th.stuck_pending_age_s), skew: Math.round(th.skew_ms / 1000) });
  const now = data.now_ms;
  devicesGridPicker();
  // the server classifies, filters and orders every visible device, then sends one page
  const rows = data.devices;
  fillTable("devices-table", [
    { h: "col.manager", cell: (d) => d.manager_name },
    { h: "col.grids", cell: (d) => d.grids.map(gridName).join(", ") },
    { h: "col.device", cell: (d) => shortId(d.device_id), title: (d) => d.device_id, cls: () => "mono" },
    { h: "col.app_version", cell: (d) => d.app_version },
    { h: "col.phone", cell: (d) => [d.device_model, d.os_version].filter(Boolean).join(" · ") || "—", cls: () => "small" },
    { h: "col.free_storage", num: true, cell: (d) => bytesText(d.free_storage_bytes), cls: (d) => d.health.low_storage ? "bad" : "" },
    { h: "col.sync_took", num: true, cell: (d) => d.last_sync_duration_ms === null || d.last_sync_duration_ms === undefined ? "—"
      : duration(d.last_sync_duration_ms / 1000) + " · " + bytesText(d.last_sync_bytes), cls: (d) => d.health.slow_sync ? "warn" : "" },
    { h: "col.traffic_day", num: true, cell: (d) => d.traffic_day ? "↑" + bytesText(d.bytes_sent_day) + " ↓" + bytesText(d.bytes_received_day) : "—",
      title: (d) => d.traffic_day || "", cls: () => "small" },
    { h: "col.photos_waiting", num: true, cell: (d) => d.photos_waiting === null || d.photos_waiting === undefined ? "—"
      : d.photos_waiting + (d.photos_waiting > 0 ? " · " + bytesText(d.photo_bytes_waiting) : ""), cls: (d) => d.photos_waiting > 0 ? "strong" : "" },
    { h: "col.last_sync", cell: (d) => ago(d.health.last_sync_ms, now), title: (d) => fmtTime(d.health.last_sync_ms),
      cls: (d) => d.health.stale ? "warn" : "" },
    { h: "col.pending", num: true, cell: (d) => d.pending_count, cls: (d) => d.pending_count > 0 ? "strong" : "" },
    { h: "col.oldest", cell: (d) => d.oldest_pending_age_s === null ? "—" : duration(d.oldest_pending_age_s),
      cls: (d) => d.health.stuck ? "bad" : "" },
    { h: "col.rejected", num: true, cell: (d) => d.rejected_count, cls: (d) => d.rejected_count > 0 ? "warn" : "" },
    { h: "col.offset", cell: (d) => offsetText(d.clock_offset_ms), cls: (d) => d.health.skewed ? "bad" : "" },
    { h: "col.on_phone", num: true, cell: (d) => d.unsynced_receipts_fen > 0 ? yuan(d.unsynced_receipts_fen) + " (" + d.unsynced_receipts_count + ")" : "—",
      cls: (d) => d.unsynced_receipts_fen > 0 ? "bad" : "" },
    { h: "col.last_error", cell: (d) => d.last_error ? (d.last_error.length > 80 ? d.last_error.slice(0, 80) + "…" : d.last_error) : "—",
      title: (d) => d.last_error || "", cls: () => "small" },
    { h: "col.state", cell: (d) => {
      const span = el("span", { class: "badges" }, badge(t("state." + d.health.state), "state-" + d.health.state));
      if (d.health.skewed) span.append(badge(t("flag.skewed"), "state-skewed"));
      if (d.health.low_storage) span.append(badge(t("flag.low_storage"), "state-stuck"));
      if (d.health.slow_sync) span.append(badge(t("flag.slow_sync"), "state-stale"));
      if (d.battery_saver) span.append(badge(t("flag.battery_saver"), "state-never_synced"));
      if (d.wipe) span.append(badge(t("wipe.badge." + d.wipe.status), "wipe-" + d.wipe.status));
      if (d.rate_limited) {
        const b = badge(t("flag.rate_limited"), "state-rate_limited");
        b.title = t("flag.rate_limited.title", { n: d.rate_limited.count, ago: ago(d.rate_limited.last_ms, now) });
        span.append(b);
      }
      return span;
    } },
  ], rows, { rowClass: (d) => "dev-" + d.health.state + (d.health.skewed ? " dev-skewed" : ""), rowKey: (d) => d.device_id,
    server: serverPage("devices", data) });
}

/// The sync-health tab's filters as a query: a health state and a grid, applied by the server
/// before it pages.
function devicesQuery() {
  const q = new URLSearchParams();
  const state = document.getElementById("devices-state").value;
  const grid = document.getElementById("devices-grid").value;
  if (state) q.set("state", state);
  if (grid) q.set("grid", grid);
  return q.toString() + (q.toString() ? "&" : "") + pageQuery("devices");
}

/// The grid filter's choices: the grids the staff member may see (/admin/api/names).
function devicesGridPicker() {
  const select = document.getElementById("devices-grid");
  const ids = Object.keys(NAMES.grids).sort();
  if (select.options.length === ids.length + 1) return;
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "" }, t("filter.all")), ...ids.map((g) => el("option", { value: g }, gridName(g))));
  select.value = ids.includes(chosen) ? chosen : "";
}

function bucketLabel(startMs, bucketMs) {
  const opts = { timeZone: ZONE };
  if (bucketMs < 86400000) Object.assign(opts, { hour: "2-digit", minute: "2-digit" });
  if (bucketMs >= 6 * 3600000) Object.assign(opts, { month: "2-digit", day: "2-digit" });
  return new Date(startMs).toLocaleString(locale(), opts);
}

function niceMax(v) {
  if (v <= 4) return 4;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function renderChart(data) {
  const W = 900, H = 280, L = 48, R = 12, T = 14, B = 34;
  const buckets = data.buckets;
  const n = buckets.length;
  const top = niceMax(Math.max(1, ...buckets.map((b) => Math.max(b.pushes + b.pulls, b.rejected))));
  const x = (i) => L + (i * (W - L - R)) / n;
  const y = (v) => T + (H - T - B) * (1 - v / top);
  const bw = Math.max(2, ((W - L - R) / n) * 0.7);
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": t("h.activity") });
  for (let g = 0; g <= 4; g++) {
    const v = (top * g) / 4;
    chart.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }));
    chart.append(svg("text", { x: L - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" }, String(Math.round(v * 10) / 10)));
  }
  const every = Math.ceil(n / 8);
  buckets.forEach((b, i) => {
    const x0 = x(i) + ((W - L - R) / n - bw) / 2;
    const tip = `${bucketLabel(b.start_ms, data.bucket_ms)} — ${t("legend.pushes")} ${b.pushes}, ${t("legend.pulls")} ${b.pulls}, ${t("legend.rejected")} ${b.rejected}`;
    if (b.pulls > 0) {
      const r = svg("rect", { x: x0, y: y(b.pulls), width: bw, height: y(0) - y(b.pulls), class: "bar pull" });
      r.append(svg("title", {}, tip));
      chart.append(r);
    }
    if (b.pushes > 0) {
      const r = svg("rect", { x: x0, y: y(b.pulls + b.pushes), width: bw, height: y(b.pulls) - y(b.pulls + b.pushes), class: "bar push" });
      r.append(svg("title", {}, tip));
      chart.append(r);
    }
    if (i % every === 0) {
      chart.append(svg("text", { x: x(i) + (W - L - R) / n / 2, y: H - B + 16, class: "axis", "text-anchor": "middle" }, bucketLabel(b.start_ms, data.bucket_ms)));
    }
  });
  const pts = buckets.map((b, i) => `${x(i) + (W - L - R) / n / 2},${y(b.rejected)}`).join(" ");
  chart.append(svg("polyline", { points: pts, class: "line rejected" }));
  buckets.forEach((b, i) => {
    if (b.rejected > 0) {
      const c = svg("circle", { cx: x(i) + (W - L - R) / n / 2, cy: y(b.rejected), r: 4, class: "dot rejected" });
      c.append(svg("title", {}, `${t("legend.rejected")}: ${b.rejected}`));
      chart.append(c);
    }
  });
  chart.append(svg("line", { x1: L, x2: W - R, y1: y(0), y2: y(0), class: "baseline" }));
  const box = document.getElementById("chart");
  box.replaceChildren(chart);
  const bucketName = data.bucket_ms === 3600000 ? "bucket.hour" : data.bucket_ms === 6 * 3600000 ? "bucket.6h" : "bucket.day";
  document.getElementById("chart-title").textContent = t("chart.title", { bucket: t(bucketName) });
}

function renderActivity(data) {
  for (const b of document.querySelectorAll("#range button")) b.classList.toggle("on", b.dataset.range === S.range);
  renderChart(data);
  const rows = data.buckets.filter((b) => b.pushes + b.pulls > 0).reverse();
  fillTable("activity-table", [
    { h: "col.bucket", cell: (b) => bucketLabel(b.start_ms, data.bucket_ms) },
    { h: "col.pushes", num: true, cell: (b) => b.pushes },
    { h: "col.pulls", num: true, cell: (b) => b.pulls },
    { h: "col.ops_pushed", num: true, cell: (b) => b.ops_pushed },
    { h: "col.ops_pulled", num: true, cell: (b) => b.ops_pulled },
    { h: "col.rejected_ops", num: true, cell: (b) => b.rejected, cls: (b) => b.rejected > 0 ? "warn" : "" },
    { h: "col.devices_n", num: true, cell: (b) => b.devices },
    { h: "col.max_ms", num: true, cell: (b) => b.max_duration_ms + " ms" },
  ], rows, { empty: t("activity.empty") });
}

function renderRejections(data) {
  fillTable("rejections-table", [
    { h: "col.time", cell: (r) => fmtTime(r.at_ms) },
    { h: "col.manager", cell: (r) => r.manager_name || r.manager_id || "—" },
    { h: "col.device", cell: (r) => shortId(r.device_id), title: (r) => r.device_id, cls: () => "mono" },
    { h: "col.grids", cell: (r) => gridName(r.grid_id) },
    { h: "col.kind", cell: (r) => label("kind", r.kind) },
    { h: "col.record", cell: (r) => shortId(r.entity_id), title: (r) => r.entity_id, cls: () => "mono" },
    { h: "col.code", cell: (r) => badge(label("code", r.code), "code-" + r.code) },
    { h: "col.reason", cell: (r) => r.reason, cls: () => "small" },
    { h: "col.advice", cell: (r) => hasText("advice." + r.code) ? t("advice." + r.code) : t("advice.other"), cls: () => "advice" },
  ], data.rejections, { rowKey: (r) => r.op_id, rowClass: (r) => "rej-" + r.code, server: serverPage("rejections", data) });
}

/// The back office stamps as "backoffice" or, one node per server process, "backoffice_<id>".
function isServer(device) {
  return /^backoffice(_|$)/.test(device || "");
}

function who(name, device) {
  if (isServer(device)) return t("who.backoffice");
  return (name || "?") + " · " + shortId(device);
}

/// A field's value as people read it: tiers, segments and the like translated, the rest as stored.
function fieldValue(field, value) {
  if (value === null || value === undefined || value === "") return "—";
  if (field === "tier") return label("tier", value);
  if (field === "deleted") return t(value === "true" || value === true ? "value.yes" : "value.no");
  return value;
}

/// The server's own recomputation of a tier (domain/tiers.rs) is not a conflict between people:
/// it is listed apart, below the conflicts people should look at (storage's `ConflictSide`).
function renderConflicts(data) {
  const columns = [
    { h: "col.time", cell: (c) => fmtTime(c.at_ms) },
    { h: "col.kind", cell: (c) => label("kind", c.kind) },
    { h: "col.field", cell: (c) => label("field", c.field), cls: () => "key" },
    { h: "col.old", cell: (c) => fieldValue(c.field, c.old_value), cls: () => "old" },
    { h: "col.new", cell: (c) => fieldValue(c.field, c.new_value), cls: () => "new" },
    { h: "col.by_old", cell: (c) => who(c.old_manager, c.old_device), title: (c) => c.old_hlc },
    { h: "col.by_new", cell: (c) => who(c.new_manager, c.new_device), title: (c) => c.new_hlc },
    { h: "col.grids", cell: (c) => gridName(c.grid_id) },
    { h: "col.record", cell: (c) => shortId(c.entity_id), title: (c) => c.entity_id, cls: () => "mono" },
  ];
  // the server pages the two apart (?side=): each list is a page of its own rows with its total
  const { people, recomputed } = data;
  document.getElementById("conflicts-count").textContent =
    t("conflicts.count", { people: people.total || 0, server: recomputed.total || 0 });
  const key = (c) => c.entity_id + "/" + c.field;
  fillTable("conflicts-table", columns, people.conflicts, { rowKey: key, server: serverPage("conflicts", people) });
  fillTable("recompute-table", columns, recomputed.conflicts, { rowKey: key, server: serverPage("recompute", recomputed) });
}

function renderMoney(data) {
  for (const b of document.querySelectorAll("#days button")) b.classList.toggle("on", Number(b.dataset.days) === S.days);
  // per grid per day, as a grid of days × grids
  const grids = [...new Set(data.by_grid_day.map((g) => g.grid_id))].sort();
  const names = {};
  for (const g of data.by_grid_day) names[g.grid_id] = g.grid_name || g.grid_id;
  const days = [...new Set(data.by_grid_day.map((g) => g.day))].sort().reverse();
  const cell = {};
  for (const g of data.by_grid_day) cell[g.day + "|" + g.grid_id] = g;
  const dayRows = days.map((day) => ({ day, cells: grids.map((id) => cell[day + "|" + id] || null) }));
  const cols = [{ h: "col.day", cell: (r) => r.day }];
  grids.forEach((id, i) => cols.push({
    h: names[id], num: true,
    cell: (r) => r.cells[i] ? `${yuan(r.cells[i].amount_fen)} (${r.cells[i].count})` : "—",
  }));
  cols.push({ h: "col.total", num: true, cell: (r) => {
    const fen = r.cells.reduce((a, c) => a + (c ? c.amount_fen : 0), 0);
    const cnt = r.cells.reduce((a, c) => a + (c ? c.count : 0), 0);
    return `${yuan(fen)} (${cnt})`;
  }, cls: () => "strong" });
  fillTable("grid-day-table", cols, dayRows);

  fillTable("manager-table", [
    { h: "col.manager", cell: (m) => m.manager_name || m.collector_id || "—" },
    { h: "col.count", num: true, cell: (m) => m.count },
    { h: "col.amount", num: true, cell: (m) => yuan(m.amount_fen) },
  ], data.by_manager);

  fillTable("on-phones-table", [
    { h: "col.manager", cell: (p) => p.manager_name },
    { h: "col.device", cell: (p) => shortId(p.device_id), title: (p) => p.device_id, cls: () => "mono" },
    { h: "col.count", num: true, cell: (p) => p.count },
    { h: "col.amount", num: true, cell: (p) => yuan(p.amount_fen), cls: () => "bad" },
    { h: "col.last_seen", cell: (p) => fmtTime(p.last_seen_ms) },
  ], data.on_phones);

  fillTable("receipts-table", [
    { h: "col.receipt_no", cell: (r) => r.receipt_no, cls: () => "mono" },
    { h: "col.grids", cell: (r) => gridName(r.grid_id) },
    { h: "col.amount", num: true, cell: (r) => yuan(r.amount_fen) },
    { h: "col.method", cell: (r) => label("method", r.method) },
    { h: "col.collected_at", cell: (r) => fmtTime(r.collected_at_ms) },
    { h: "col.collector", cell: (r) => r.collector_name || r.collector_id || "—" },
    { h: "col.device", cell: (r) => shortId(r.device_id), title: (r) => r.device_id, cls: () => "mono" },
    { h: "col.signed", cell: (r) => t(r.signed ? "signed.yes" : "signed.no") },
    { h: "col.verification", cell: (r) => badge(label("verification", r.verification), "ver-" + r.verification),
      title: (r) => r.verification_detail || "" },
    { h: "col.void", cell: (r) => r.void_status ? badge(label("void", r.void_status), "void-" + r.void_status)
      : r.void_requested ? badge(t("void.requested"), "warn") : "—" },
  ], data.receipts, { rowKey: (r) => r.receipt_no, server: serverPage("money", data.receipts_page) });

  fillTable("voids-table", [
    { h: "col.receipt_no", cell: (v) => v.receipt_no || shortId(v.receipt_id), cls: () => "mono" },
    { h: "col.amount", num: true, cell: (v) => v.amount_fen === null ? "—" : yuan(v.amount_fen) },
    { h: "col.void_reason", cell: (v) => v.reason },
    { h: "col.voided_by", cell: (v) => v.voided_by_name || v.voided_by || "—" },
    { h: "col.time", cell: (v) => fmtTime(v.voided_at_ms) },
    { h: "col.status", cell: (v) => badge(label("void", v.status), "void-" + v.status) },
  ], data.voids, { rowKey: (v) => v.id, server: serverPage("money.voids", data.voids_page) });
}

/// A customer's (masked) name that opens their household page on the archive tab.
function householdLink(name, grid, id) {
  if (!id) return name || "—";
  const a = el("a", { href: "#archive", class: "household-link" }, name || shortId(id));
  a.addEventListener("click", (e) => {
    e.preventDefault();
    Object.assign(S.arch, { grid, premises: "", unit: "", q: "", offset: 0, household: { grid, id } });
    location.hash = "#archive";
  });
  return a;
}

/// The paging part of a list's answer, for its bar.
function serverPage(view, data) {
  return { view, total: data.total || 0, offset: data.offset || 0, limit: data.limit || SERVER_PAGE };
}

function daysBetween(from, to) {
  return Math.round((Date.parse(to + "T00:00:00Z") - Date.parse(from + "T00:00:00Z")) / 86400000);
}

function renderFollowups(data) {
  document.getElementById("followups-note").textContent = t("h.followups.note", { today: data.today });
  fillTable("followups-table", [
    { h: "col.due", cell: (f) => f.follow_up_due },
    { h: "col.overdue", num: true, cell: (f) => t("days", { n: daysBetween(f.follow_up_due, data.today) }), cls: () => "bad" },
    { h: "col.customer", cell: (f) => householdLink(f.customer_name, f.grid_id, f.household_id) },
    { h: "col.grids", cell: (f) => gridName(f.grid_id) },
    { h: "col.manager", cell: (f) => f.manager_name || f.manager_id || "—" },
    { h: "col.purpose", cell: (f) => label("purpose", f.purpose) },
    { h: "col.question", cell: (f) => f.open_question },
    { h: "col.promise", cell: (f) => f.follow_up },
    { h: "col.visited", cell: (f) => fmtTime(f.arrived_at_ms) },
    { h: "col.later", cell: (f) => f.later_visit_ms ? fmtTime(f.later_visit_ms) : "—" },
  ], data.follow_ups, { rowKey: (f) => f.visit_id, server: serverPage("followups", data) });
}

// ---- field workflows: tickets, appointments, day summaries, handovers ---------------------------

function renderTickets(data) {
  document.getElementById("tickets-note").textContent = t("h.tickets.note", { today: data.today, n: data.overdue });
  fillTable("tickets-table", [
    { h: "col.promised", cell: (x) => x.promised_reply_by },
    { h: "col.status", cell: (x) => x.overdue
      ? badge(t("ticket.overdue", { n: daysBetween(x.promised_reply_by, data.today) }), "overdue")
      : badge(label("ticket.status", x.status), "ticket-" + x.status) },
    { h: "col.owner", cell: (x) => x.owner_name || x.owner_manager_id || "—" },
    { h: "col.grids", cell: (x) => gridName(x.grid_id) },
    { h: "col.customer", cell: (x) => householdLink(x.customer_name, x.grid_id, x.household_id) },
    { h: "col.ticket_kind", cell: (x) => label("ticket.kind", x.kind) },
    { h: "col.text", cell: (x) => x.text, cls: () => "small" },
    { h: "col.escalated", cell: (x) => x.escalated_to || "—" },
    { h: "col.taken", cell: (x) => fmtTime(x.taken_at_ms) },
  ], data.tickets, { rowKey: (x) => x.id, rowClass: (x) => x.overdue ? "overdue" : "ticket-" + x.status, server: serverPage("tickets", data) });
}

function renderAppointments(data) {
  const c = data.counts;
  document.getElementById("appointments-note").textContent =
    t("h.appointments.note", { today: data.today, today_n: c.today + c.late, late: c.late, missed: c.missed });
  fillTable("appointments-table", [
    { h: "col.agreed", cell: (a) => fmtTime(a.agreed_at_ms) },
    { h: "col.category", cell: (a) => badge(t("appt." + a.category), "appt-" + a.category) },
    { h: "col.status", cell: (a) => label("appt.status", a.status) },
    { h: "col.manager", cell: (a) => a.manager_name || a.manager_id || "—" },
    { h: "col.grids", cell: (a) => gridName(a.grid_id) },
    { h: "col.customer", cell: (a) => householdLink(a.customer_name, a.grid_id, a.household_id) },
    { h: "col.purpose", cell: (a) => label("purpose", a.purpose) },
    { h: "col.note", cell: (a) => a.note, cls: () => "small" },
  ], data.appointments, { rowKey: (a) => a.id, rowClass: (a) => "appt-" + a.category, server: serverPage("appointments", data) });
}

function renderSummaries(data) {
  for (const b of document.querySelectorAll("#summary-days button")) b.classList.toggle("on", Number(b.dataset.days) === S.summaryDays);
  fillTable("computed-table", [
    { h: "col.date", cell: (d) => d.date },
    { h: "col.manager", cell: (d) => d.manager_name, cls: () => "key" },
    { h: "col.grids", cell: (d) => gridName(d.grid_id) },
    { h: "col.visits", num: true, cell: (d) => d.visits },
    { h: "col.on_time", num: true, cell: (d) => d.kept_on_time + " / " + d.planned },
    { h: "col.missed", num: true, cell: (d) => d.missed, cls: (d) => d.missed > 0 ? "warn" : "" },
    { h: "col.collected", num: true, cell: (d) => yuan(d.collected_fen) + " (" + d.receipts + ")" },
    { h: "col.notices", num: true, cell: (d) => d.notices },
    { h: "col.tickets_taken", num: true, cell: (d) => d.tickets_taken },
    { h: "col.reminders_closed", num: true, cell: (d) => d.reminders_closed },
  ], data.computed, { rowKey: (d) => d.date + "/" + d.grid_id + "/" + d.manager_id, server: serverPage("computed", data.computed_page) });
  fillTable("summaries-table", [
    { h: "col.date", cell: (d) => d.date },
    { h: "col.manager", cell: (d) => d.manager_name || d.manager_id },
    { h: "col.grids", cell: (d) => gridName(d.grid_id) },
    { h: "col.signed_in", cell: (d) => d.signed_in_at_ms ? fmtClock(d.signed_in_at_ms) : "—", cls: (d) => d.signed_in_at_ms ? "" : "warn" },
    { h: "col.visits", num: true, cell: (d) => d.visits },
    { h: "col.kept", num: true, cell: (d) => d.appointments_kept + " / " + d.appointments_on_time },
    { h: "col.missed", num: true, cell: (d) => d.appointments_missed, cls: (d) => d.appointments_missed > 0 ? "warn" : "" },
    { h: "col.created", num: true, cell: (d) => d.households_created },
    { h: "col.updated", num: true, cell: (d) => d.households_updated },
    { h: "col.collected", num: true, cell: (d) => yuan(d.collected_fen) + " (" + d.receipts + ")" },
    { h: "col.notices", num: true, cell: (d) => d.notices },
    { h: "col.open_promises", num: true, cell: (d) => d.open_promises },
    { h: "col.open_tickets", num: true, cell: (d) => d.open_tickets, cls: (d) => d.open_tickets > 0 ? "warn" : "" },
    { h: "col.note", cell: (d) => d.note, cls: () => "small" },
  ], data.summaries, { rowKey: (d) => d.manager_id + "/" + d.date, server: serverPage("summaries", data.summaries_page) });
}

/// The handover form's selects, filled by pagekit.js's pickers from the directory (no id typed).
const HANDOVER_FORM = {
  form: "handover-form", scope: "handover-scope", grid: "handover-grid", from: "handover-from",
  building: "handover-premises", to: "handover-to", toGrid: "handover-to-grid",
};
let handoverDirectory = null;

function handoverPickers() {
  if (!handoverDirectory) return Promise.resolve();
  return window.GridbookPage.handoverPickers(HANDOVER_FORM, handoverDirectory).catch((e) => {
    const out = document.getElementById("handover-result");
    out.className = "bad";
    out.textContent = t("handover.failed", { m: e.message });
  });
}

function renderHandovers(data) {
  document.getElementById("handover-form").hidden = !data.directory;
  handoverDirectory = data.directory;
  handoverPickers();
  fillTable("handovers-table", [
    { h: "col.time", cell: (h) => fmtTime(h.created_at_ms) },
    { h: "col.scope", cell: (h) => h.scope === "building"
      ? t("handover.scope.building") + " " + (h.premises_name || shortId(h.premises_id))
      : t("handover.scope.grid") + " " + h.from_grid },
    { h: "col.from", cell: (h) => h.from_grid + " · " + (h.from_managers.join(", ") || "—") },
    { h: "col.to", cell: (h) => (h.to_manager_name || h.to_manager) + " · " + h.to_grid },
    { h: "col.records", num: true, cell: (h) => h.records },
    { h: "col.devices", cell: (h) => {
      const box = el("span", { class: "badges" });
      for (const d of h.devices) {
        const who = d.manager_name + " · " + shortId(d.device_id);
        box.append(badge(t(d.removed_at_ms ? "ho.device.done" : "ho.device.waiting", { who }), d.removed_at_ms ? "ho-done" : "ho-waiting"));
      }
      return h.devices.length ? box : "—";
    } },
    { h: "col.status", cell: (h) => badge(t("ho." + h.state), "ho-" + h.state) },
    { h: "col.by", cell: (h) => personName(h.by) },
  ], data.handovers, { rowKey: (h) => h.id, rowClass: (h) => "handover-" + h.state, server: serverPage("handovers", data) });
}

async function submitHandover(ev) {
  ev.preventDefault();
  const v = (id) => document.getElementById(id).value.trim();
  const scope = v("handover-scope");
  const body = scope === "grid"
    ? { scope, grid: v("handover-grid"), from: v("handover-from"), to: v("handover-to") }
    : { scope, premises: v("handover-premises"), to: v("handover-to"), to_grid: v("handover-to-grid") };
  const out = document.getElementById("handover-result");
  out.className = "";
  out.textContent = t("loading");
  try {
    const r = await fetch("/admin/api/handovers", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": document.body.dataset.csrf },
      body: JSON.stringify(body),
    });
    const answer = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(serverMessage(answer, r.status));
    out.className = "ok";
    out.textContent = t("handover.started", { n: answer.records });
    refresh(true);
  } catch (e) {
    out.className = "bad";
    out.textContent = t("handover.failed", { m: e.message });
  }
}

// ---- app versions -----------------------------------------------------------------------------

/// A state-changing call: JSON (or a raw body) with the session's CSRF token; the answer or an error.
async function send(path, body, contentType) {
  const r = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": contentType || "application/json", Accept: "application/json", "X-CSRF-Token": document.body.dataset.csrf },
    body: contentType ? body : JSON.stringify(body),
  });
  const answer = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(serverMessage(answer, r.status));
  return answer;
}

function renderVersions(data) {
  const admin = document.body.dataset.role === "admin";
  const rel = data.releases;
  document.getElementById("release-form").hidden = !admin;
  document.getElementById("min-version-submit").hidden = !admin;
  const min = document.getElementById("min-version");
  min.disabled = !admin;
  if (document.activeElement !== min) min.value = rel.min_app_version || "";
  min.placeholder = rel.min_app_version ? "" : t("versions.min.none");
  fillTable("versions-running-table", [
    { h: "col.app_version", cell: (v) => v.version || "—" },
    { h: "col.devices_running", num: true, cell: (v) => v.devices },
    { h: "col.state", cell: (v) => v.below_minimum ? badge(t("versions.below"), "state-stuck") : "—" },
  ], rel.versions, { rowKey: (v) => v.version });
  // counted by the server over every device the staff member may see, not over one page
  const c = data.devices.counts;
  fillTable("versions-spread-table", [
    { h: "col.state", cell: (r) => t(r.k) },
    { h: "col.devices_running", num: true, cell: (r) => r.n, cls: (r) => r.n > 0 && r.k !== "spread.unknown" ? "warn" : "" },
  ], [
    { k: "spread.low_storage", n: c.low_storage },
    { k: "spread.slow_sync", n: c.slow_sync },
    { k: "spread.battery_saver", n: c.battery_saver },
    { k: "spread.unknown", n: c.unknown_model },
  ], { rowKey: (r) => r.k, paged: false });
  fillTable("releases-table", [
    { h: "col.app_version", cell: (r) => r.version },
    { h: "col.published", cell: (r) => fmtTime(r.published_at_ms) + " · " + r.published_by },
    { h: "col.size", num: true, cell: (r) => bytesText(r.bytes) },
    { h: "col.sha256", cell: (r) => r.sha256.slice(0, 16) + "…", title: (r) => r.sha256, cls: () => "mono" },
    { h: "col.rollout", cell: (r) => r.withdrawn_at_ms ? badge(t("versions.withdrawn"), "state-revoked")
      : r.rollout_percent + "% · " + (r.grids.join(", ") || t("versions.all")) + " · " + (r.managers.join(", ") || t("versions.all")) },
    { h: "col.note", cell: (r) => r.notes, cls: () => "small" },
    { h: "col.actions", cell: (r) => {
      if (!admin || r.withdrawn_at_ms) return "—";
      const pct = el("input", { type: "number", min: "0", max: "100", value: String(r.rollout_percent), class: "rollout-percent", "aria-label": t("versions.rollout") });
      const apply = el("button", { type: "button", class: "rollout-apply" }, t("versions.apply"));
      apply.addEventListener("click", () => act(() => send("/admin/api/releases/" + r.sha256 + "/rollout",
        { percent: Number(pct.value), grids: r.grids, managers: r.managers })));
      const withdraw = el("button", { type: "button", class: "release-withdraw" }, t("versions.withdraw"));
      withdraw.addEventListener("click", () => act(() => send("/admin/api/releases/" + r.sha256 + "/withdraw", {})));
      return el("span", { class: "badges" }, pct, apply, withdraw);
    } },
  ], rel.releases, { rowKey: (r) => r.sha256 });
}

/// Runs a change and redraws; a refusal is shown beside the release form.
async function act(change) {
  const out = document.getElementById("release-result");
  try {
    await change();
    out.className = "ok";
    out.textContent = "✓";
    refresh(true);
  } catch (e) {
    out.className = "bad";
    out.textContent = t("versions.failed", { m: e.message });
  }
}

async function submitMinVersion(ev) {
  ev.preventDefault();
  const out = document.getElementById("min-version-result");
  const v = document.getElementById("min-version").value.trim();
  try {
    const answer = await send("/admin/api/min-app-version", { version: v || null });
    out.className = "ok";
    out.textContent = t("versions.min.done", { v: answer.min_app_version || t("versions.min.none") });
    refresh(true);
  } catch (e) {
    out.className = "bad";
    out.textContent = t("versions.failed", { m: e.message });
  }
}

async function submitRelease(ev) {
  ev.preventDefault();
  const out = document.getElementById("release-result");
  const v = (id) => document.getElementById(id).value.trim();
  const file = document.getElementById("release-file").files[0];
  const q = new URLSearchParams({ version: v("release-version"), notes: v("release-notes"), rollout: v("release-rollout") || "0",
    grids: v("release-grids"), managers: v("release-managers") });
  out.className = "";
  out.textContent = t("versions.uploading");
  try {
    if (!file) throw new Error(t("versions.file"));
    const answer = await send("/admin/api/releases?" + q.toString(), file, "application/vnd.android.package-archive");
    out.className = "ok";
    out.textContent = t("versions.published", { v: answer.version, size: bytesText(answer.bytes) });
    refresh(true);
  } catch (e) {
    out.className = "bad";
    out.textContent = t("versions.failed", { m: e.message });
  }
}

// ---- remote wipes -----------------------------------------------------------------------------

/// "N changes, M receipts ¥X" of a report's figures.
function wipeFigures(key, ops, n, fen) {
  return t(key, { ops, n, amount: yuan(fen) });
}

function renderWipes(data) {
  const select = document.getElementById("wipe-device");
  const chosen = select.value;
  // devices that can still be ordered (the server's `wipe=orderable`: not revoked, and not told;
  // an order not yet told is replaced), in the sync-health order, the first 1000
  const open = data.orderable.devices;
  select.replaceChildren(el("option", { value: "" }, t("wipe.choose")),
    ...open.map((d) => el("option", { value: d.device_id }, d.manager_name + " · " + d.device_id)));
  // past the first 1000 the picker says how many it leaves out rather than hiding them silently
  if (data.orderable.total > open.length) {
    select.append(el("option", { value: "", disabled: "" }, t("wipe.more", { n: data.orderable.total - open.length })));
  }
  if (open.some((d) => d.device_id === chosen)) select.value = chosen;
  // every wipe on record, newest order first, a page at a time (the server's `wipe=any`)
  const rows = data.wipes.devices.map((d) => Object.assign({ grids: d.grids }, d.wipe));
  fillTable("wipes-table", [
    { h: "col.manager", cell: (w) => w.manager_name },
    { h: "col.grids", cell: (w) => w.grids.map(gridName).join(", ") },
    { h: "col.device", cell: (w) => shortId(w.device_id), title: (w) => w.device_id, cls: () => "mono" },
    { h: "col.wipe_mode", cell: (w) => t("wipe.mode." + w.mode) },
    { h: "col.wipe_status", cell: (w) => badge(t("wipe.status." + w.status), "wipe-" + w.status) },
    { h: "col.ordered", cell: (w) => fmtTime(w.ordered_at_ms) + " · " + w.ordered_by },
    { h: "col.told", cell: (w) => w.told_at_ms ? fmtTime(w.told_at_ms) : "—" },
    { h: "col.wiped", cell: (w) => w.wiped_at_ms ? fmtTime(w.wiped_at_ms) : "—" },
    { h: "col.uploaded", cell: (w) => w.report ? wipeFigures("wipe.uploaded", w.report.ops_uploaded, w.report.receipts_uploaded, w.report.receipts_uploaded_fen) : "—" },
    { h: "col.refused", num: true, cell: (w) => w.report ? w.report.ops_rejected : "—", cls: (w) => w.report && w.report.ops_rejected > 0 ? "warn" : "" },
    { h: "col.lost", cell: (w) => !w.report ? "—" : w.report.ops_lost + w.report.receipts_lost === 0 ? t("wipe.none_lost")
      : wipeFigures("wipe.lost", w.report.ops_lost, w.report.receipts_lost, w.report.receipts_lost_fen),
      cls: (w) => w.report && (w.report.ops_lost > 0 || w.report.receipts_lost > 0) ? "bad" : "" },
    { h: "col.actions", cell: (w) => {
      if (w.status !== "ordered") return "—";
      const cancel = el("button", { type: "button", class: "wipe-cancel" }, t("wipe.cancel"));
      cancel.addEventListener("click", () => wipeChange(() => send("/admin/api/devices/" + encodeURIComponent(w.device_id) + "/wipe/cancel", {}), t("wipe.cancelled")));
      return cancel;
    } },
  ], rows, { rowKey: (w) => w.device_id, rowClass: (w) => "wipe-row-" + w.status, server: serverPage("wipes", data.wipes) });
}

/// Runs a wipe order or its cancelling, says how it went beside the form, and redraws.
async function wipeChange(change, done) {
  const out = document.getElementById("wipe-result");
  try {
    const answer = await change();
    out.className = "ok";
    out.textContent = done || t("wipe.done", { who: answer.manager_name + " · " + answer.device_id, mode: t("wipe.mode." + answer.mode) });
    refresh(true);
  } catch (e) {
    out.className = "bad";
    out.textContent = t("wipe.failed", { m: e.message });
  }
}

function submitWipe(ev) {
  ev.preventDefault();
  const device = document.getElementById("wipe-device").value;
  const mode = document.getElementById("wipe-mode").value;
  if (!device) {
    const out = document.getElementById("wipe-result");
    out.className = "bad";
    out.textContent = t("wipe.choose");
    return;
  }
  wipeChange(() => send("/admin/api/devices/" + encodeURIComponent(device) + "/wipe", { mode }));
}

// ---- home: the supervisor's day (/admin/api/home, domain/workbench.rs) ------------------------

function pct(part, whole) {
  // rounded, not truncated, to two decimals: 33.197 % → 33.20 %
  if (!whole) return "—";
  return (Math.round((part * 10000) / whole) / 100).toFixed(2) + "%";
}

function tierText(tiers) {
  return ["high", "middle", "low", "none"].filter((k) => tiers[k]).map((k) => t("tier." + k) + " " + tiers[k]).join(" · ") || "—";
}

/// A small bar chart of one series (inline SVG, no outside assets).
function sparkBars(id, days, value, fmt) {
  const W = 320, H = 100, L = 4, R = 4, T = 8, B = 18;
  const n = days.length;
  const top = Math.max(1, ...days.map(value));
  const w = (W - L - R) / Math.max(1, n);
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart spark", role: "img", "aria-label": t(id === "trend-visits" ? "trend.visits" : "trend.collected") });
  days.forEach((d, i) => {
    const v = value(d);
    const h = ((H - T - B) * v) / top;
    const r = svg("rect", { x: L + i * w + w * 0.15, y: H - B - h, width: Math.max(1, w * 0.7), height: h, class: "bar push" });
    r.append(svg("title", {}, d.day + " · " + fmt(v)));
    chart.append(r);
  });
  chart.append(svg("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "baseline" }));
  if (n) {
    chart.append(svg("text", { x: L, y: H - 4, class: "axis" }, days[0].day.slice(5)));
    chart.append(svg("text", { x: W - R, y: H - 4, class: "axis", "text-anchor": "end" }, days[n - 1].day.slice(5)));
  }
  document.getElementById(id).replaceChildren(chart);
}

function homeFigureColumns(period) {
  const f = (b) => b.periods[period] || {};
  return [
    { h: "col.visits_plan", num: true, cell: (b) => f(b).visits + " / " + f(b).planned },
    { h: "col.on_time", num: true, cell: (b) => f(b).kept_on_time + " · " + pct(f(b).kept_on_time, f(b).planned),
      cls: (b) => f(b).missed > 0 ? "warn" : "" },
    { h: "col.missed", num: true, cell: (b) => f(b).missed, cls: (b) => f(b).missed > 0 ? "warn" : "" },
    { h: "col.collected", num: true, cell: (b) => yuan(f(b).collected_fen) + " (" + f(b).receipts + ")" },
    // hand-ins (交款) are recorded by the money pages; until then the column says so
    { h: "col.handed_in", num: true, cell: (b) => f(b).handed_in_fen === null || f(b).handed_in_fen === undefined ? t("handed_in.none") : yuan(f(b).handed_in_fen) },
    { h: "col.reminders_closed", num: true, cell: (b) => f(b).reminders_closed },
    { h: "col.tickets_open", num: true, cell: (b) => b.standing.tickets_open + " / " + b.standing.tickets_overdue,
      cls: (b) => b.standing.tickets_overdue > 0 ? "bad" : "" },
  ];
}

function renderHome(data) {
  const period = S.period;
  for (const b of document.querySelectorAll("#period button")) b.classList.toggle("on", b.dataset.period === period);
  const p = data.periods.find((x) => x.key === period) || data.periods[0];
  document.getElementById("home-note").textContent = data.no_grids
    ? t("home.no_grids")
    : t("h.home.note", { from: p.from_day, today: data.today, n: data.no_visit_days });
  const tot = data.total;
  const f = tot.periods[period] || {};
  const st = tot.standing;
  const cards = [
    { k: "card.visits", v: f.visits + " / " + f.planned, sub: t("card.visits.sub"), id: "visits" },
    { k: "card.on_time", v: pct(f.kept_on_time, f.planned), sub: t("card.on_time.sub", { n: f.kept_on_time, late: f.kept_late, missed: f.missed }), warn: f.missed > 0, id: "on-time" },
    { k: "card.collected", v: yuan(f.collected_fen), sub: t("count.receipts", { n: f.receipts }) + " · " + t("col.handed_in") + " "
      + (f.handed_in_fen === null || f.handed_in_fen === undefined ? t("handed_in.none") : yuan(f.handed_in_fen)), id: "collected", view: "money" },
    { k: "card.owed", v: yuan(st.owed_fen), sub: t("card.owed.sub", { n: st.arrears.reduce((a, b) => a + b.accounts, 0) }), id: "owed" },
    { k: "card.tickets", v: st.tickets_open + " / " + st.tickets_overdue, sub: t("card.tickets.sub"), bad: st.tickets_overdue > 0, id: "tickets", view: "tickets" },
    { k: "card.not_visited", v: String(st.not_visited), sub: t("card.not_visited.sub", { n: data.no_visit_days, of: st.households }), warn: st.not_visited > 0, id: "not-visited" },
    { k: "card.reminders", v: (st.reminders_open || 0) + " / " + f.reminders_closed, sub: t("card.reminders.sub"), warn: st.reminders_open > 0, id: "reminders" },
    { k: "card.tiers", v: String(st.households), sub: tierText(st.tiers), id: "tiers" },
  ];
  const box = document.getElementById("home-cards");
  box.replaceChildren(...cards.map((c) => el(c.view ? "a" : "div", { class: "card" + (c.bad ? " bad" : c.warn ? " warn" : ""), href: c.view ? "#" + c.view : null, "data-card": c.id },
    el("span", { class: "card-label" }, t(c.k)), el("span", { class: "card-value" }, c.v), el("span", { class: "card-sub" }, c.sub))));

  fillTable("home-grids-table", [
    { h: "col.grid", cell: (g) => g.name || g.id, cls: () => "key" },
    ...homeFigureColumns(period),
    { h: "col.not_visited", num: true, cell: (g) => g.standing.not_visited + " / " + g.standing.households, cls: (g) => g.standing.not_visited > 0 ? "warn" : "" },
    // open reminders are the grid's: every manager of it has them on the phone
    { h: "col.reminders_open", num: true, cell: (g) => g.standing.reminders_open || 0, cls: (g) => g.standing.reminders_open > 0 ? "warn" : "" },
    { h: "col.owed", num: true, cell: (g) => yuan(g.standing.owed_fen) },
    { h: "col.tiers", cell: (g) => tierText(g.standing.tiers), cls: () => "small" },
  ], data.grids, { rowKey: (g) => g.id, empty: t("home.no_grids") });

  const managers = data.grids.flatMap((g) => g.managers.map((m) => Object.assign({ grid_name: g.name || g.id, grid_id: g.id }, m)));
  fillTable("home-managers-table", [
    { h: "col.manager", cell: (m) => m.name, cls: () => "key" },
    { h: "col.grid", cell: (m) => m.grid_name },
    ...homeFigureColumns(period),
  ], managers, { rowKey: (m) => m.grid_id + "/" + m.id });

  fillTable("home-arrears-table", [
    { h: "col.months_overdue", cell: (a) => t("months." + a.months) },
    { h: "col.accounts", num: true, cell: (a) => a.accounts },
    { h: "col.owed", num: true, cell: (a) => yuan(a.owed_fen) },
  ], st.arrears, { rowKey: (a) => a.months });

  const open = Object.entries(st.reminders_open_by_kind || {}).map(([k, n]) => ({ k, n }));
  fillTable("home-reminders-open-table", [
    { h: "col.reminder_kind", cell: (r) => label("reminder.kind", r.k) },
    { h: "col.reminders_n", num: true, cell: (r) => r.n },
  ], open, { rowKey: (r) => r.k });
  const outcomes = Object.entries(f.reminder_outcomes || {}).map(([k, n]) => ({ k, n }));
  fillTable("home-reminders-table", [
    { h: "col.outcome", cell: (r) => label("reminder.outcome", r.k) },
    { h: "col.reminders_n", num: true, cell: (r) => r.n },
  ], outcomes, { rowKey: (r) => r.k });

  sparkBars("trend-visits", data.trend, (d) => d.visits, (v) => String(v));
  sparkBars("trend-collected", data.trend, (d) => d.collected_fen, yuan);
}

registerTab("home", { load: (sig) => api("/admin/api/home", sig), render: renderHome });
// ---- finding things: grid → building → unit → household, search, a household's page --------------

const PAGE = 50;

/// "2" → "2 单元"; "2单元" as written.
function unitName(u) {
  if (!u) return "—";
  return /^\d+$/.test(u) ? t("unit.n", { n: u }) : u;
}

async function loadArchive(sig) {
  if (!Object.keys(NAMES.grids).length) await loadNames();
  const A = S.arch;
  if (!A.grid || !NAMES.grids[A.grid]) A.grid = Object.keys(NAMES.grids)[0] || "";
  if (!A.grid) return { buildings: null, households: null, detail: null };
  const q = new URLSearchParams({ offset: String(A.offset), limit: String(PAGE) });
  if (A.q) q.set("q", A.q);
  else {
    q.set("grid", A.grid);
    if (A.premises) q.set("premises", A.premises);
    if (A.unit) q.set("unit", A.unit);
  }
  const [buildings, households, detail] = await Promise.all([
    api("/admin/api/buildings?grid=" + encodeURIComponent(A.grid), sig),
    api("/admin/api/households?" + q.toString(), sig),
    A.household ? api("/admin/api/household?grid=" + encodeURIComponent(A.household.grid) + "&id=" + encodeURIComponent(A.household.id), sig) : null,
  ]);
  return { buildings, households, detail };
}

function archiveGo(change) {
  Object.assign(S.arch, change);
  refresh(true);
}

function renderArchive(data) {
  const A = S.arch;
  const select = document.getElementById("archive-grid");
  select.replaceChildren(...Object.entries(NAMES.grids).map(([id, name]) => el("option", { value: id }, name)));
  select.value = A.grid;
  document.getElementById("archive-q").value = A.q || "";
  if (!data.buildings) {
    fillTable("buildings-table", [{ h: "col.grid", cell: () => "" }], [], { empty: t("home.no_grids") });
    return;
  }
  const b = data.buildings;
  const share = (s, name) => {
    const p = s.own_products.find((x) => x.name === name);
    return p ? p.households + " · " + (p.penetration_bp / 100).toFixed(2) + "%" : "—";
  };
  const current = b.buildings.find((x) => x.id === A.premises);
  document.getElementById("archive-path").textContent = [gridName(A.grid), current ? current.name : null, A.unit ? unitName(A.unit) : null, A.q ? t("archive.found", { q: A.q }) : null]
    .filter(Boolean).join(" → ");
  fillTable("buildings-table", [
    { h: "col.building", cell: (x) => {
      const a = el("a", { href: "#archive", class: "building-link" }, x.name);
      a.addEventListener("click", (e) => { e.preventDefault(); archiveGo({ premises: x.id, unit: "", q: "", offset: 0, household: null }); });
      return a;
    }, cls: () => "key" },
    { h: "col.households", num: true, cell: (x) => x.summary.households },
    { h: "col.units", num: true, cell: (x) => x.units.length },
    { h: "col.broadband", num: true, cell: (x) => share(x.summary, "broadband") },
    { h: "col.mobile_users", num: true, cell: (x) => share(x.summary, "mobile") },
    { h: "col.prospects", num: true, cell: (x) => x.summary.prospects },
    { h: "col.address", cell: (x) => x.address, cls: () => "small" },
  ], b.buildings, { rowKey: (x) => x.id, rowClass: (x) => x.id === A.premises ? "on" : "" });
  const units = document.getElementById("units");
  units.replaceChildren();
  if (current) {
    for (const u of current.units) {
      const btn = el("button", { type: "button", class: u.unit === A.unit ? "on" : "", "data-unit": u.unit }, unitName(u.unit) + " (" + u.households + ")");
      btn.addEventListener("click", () => archiveGo({ unit: u.unit, offset: 0, household: null }));
      units.append(btn);
    }
  }
  const h = data.households;
  fillTable("households-table", [
    { h: "col.customer", cell: (x) => {
      const a = el("a", { href: "#archive", class: "household-link" }, x.customer_name || "—");
      a.addEventListener("click", (e) => { e.preventDefault(); archiveGo({ household: { grid: x.grid_id, id: x.id } }); });
      return a;
    }, cls: () => "key" },
    { h: "col.building", cell: (x) => x.building },
    { h: "col.unit", cell: (x) => x.unit },
    { h: "col.room", cell: (x) => x.room },
    { h: "col.phone_masked", cell: (x) => x.mobile, cls: () => "mono" },
    { h: "col.tier", cell: (x) => x.tier ? label("tier", x.tier) : "—" },
    { h: "col.grid", cell: (x) => gridName(x.grid_id) },
    { h: "col.archive_no", cell: (x) => shortId(x.id), title: (x) => x.id, cls: () => "mono" },
  ], h.rows, { rowKey: (x) => x.id, paged: false });
  const last = Math.min(h.total, h.offset + h.rows.length);
  document.getElementById("page-info").textContent = t("page.info", { from: h.total ? h.offset + 1 : 0, to: last, total: h.total });
  document.getElementById("page-prev").disabled = h.offset <= 0;
  document.getElementById("page-next").disabled = last >= h.total;
  renderHousehold(data.detail);
}

/// A history line's code in words: a visit's purpose, a ticket's or appointment's status, a
/// reminder's outcome.
function historyCode(x) {
  if (!x.code) return "";
  const prefix = { visit: "purpose", ticket: "ticket.status", appointment: "appt.status", reminder: "reminder.outcome" }[x.kind];
  return prefix ? label(prefix, x.code) : x.code;
}

function renderHousehold(d) {
  const box = document.getElementById("household-detail");
  box.hidden = !d;
  if (!d) return;
  // an admin may see the archive in full, with a purpose, audited (domain/reveals.rs)
  document.getElementById("reveal-form").hidden = document.body.dataset.role !== "admin";
  referenceForm(d); // locations.js
  const h = d.household;
  document.getElementById("household-title").textContent = h.customer_name + " · " + [d.building, h.unit && unitName(h.unit), h.room].filter(Boolean).join(" ");
  const rows = [
    ["col.address", h.address], ["col.phone_masked", h.mobile], ["col.landline", h.landline], ["col.tier", h.tier ? label("tier", h.tier) : "—"],
    ["col.segment", h.segment ? label("segment", h.segment) : "—"], ["col.services", (h.services || []).map((s) => label("product", s.product) + " " + s.service_number).join("；") || "—"],
    ["col.competitors", (h.competitor_services || []).map((s) => s.operator + " " + s.product).join("；") || "—"],
    ["col.note", h.notes || "—"], ["col.archive_no", h.id],
  ];
  fillTable("household-archive", [{ h: "col.field_name", cell: (r) => t(r[0]), cls: () => "key" }, { h: "col.value", cell: (r) => r[1] }], rows);
  const bills = d.billing.map((b) => ({ what: label("product", b.product) + " " + b.service_number, text: t("billing.line", { spend: yuan(b.spend_fen), base: yuan(b.baseline_fen), end: b.contract_end || "—" }) + (b.suspension_risk ? " · " + t("billing.risk") : "") }))
    .concat(d.accounts.map((a) => ({ what: t("billing.account") + " " + a.account_no, text: t("billing.owed", { owed: yuan(a.owed_fen), m: a.months_overdue }) })));
  fillTable("household-billing", [{ h: "col.item", cell: (r) => r.what, cls: () => "key" }, { h: "col.value", cell: (r) => r.text }], bills);
  fillTable("household-history", [
    { h: "col.time", cell: (x) => fmtTime(x.at_ms) },
    { h: "col.kind", cell: (x) => t("history." + x.kind) },
    { h: "col.manager", cell: (x) => personName(x.by) },
    { h: "col.text", cell: (x) => [historyCode(x), x.text].filter(Boolean).join(" · "), cls: () => "small" },
    { h: "col.amount", num: true, cell: (x) => x.amount_fen === null ? "—" : yuan(x.amount_fen) },
    // photos.js: thumbnails, or "on its way" / "missing"
    { h: "col.photos", cell: (x) => photoCell(x, S.arch.household.grid) },
  ], d.history, { rowKey: (x) => x.kind + "/" + x.id });
}

async function submitReveal(ev) {
  ev.preventDefault();
  const out = document.getElementById("reveal-result");
  const h = S.arch.household;
  if (!h) return;
  try {
    const page = await send("/admin/api/household/reveal", { grid: h.grid, id: h.id, purpose: document.getElementById("reveal-purpose").value });
    renderHousehold(page);
    out.className = "ok";
    out.textContent = t("reveal.done");
  } catch (e) {
    out.className = "bad";
    out.textContent = t("reveal.failed", { m: e.message });
  }
}

registerTab("archive", { load: loadArchive, render: renderArchive });
registerTab("devices", { load: (sig) => api("/admin/api/devices?" + devicesQuery(), sig), render: renderDevices });
registerTab("activity", { load: (sig) => api("/admin/api/activity?range=" + encodeURIComponent(S.range), sig), render: renderActivity });
registerTab("rejections", { load: (sig) => api("/admin/api/rejections?" + pageQuery("rejections"), sig), render: renderRejections });
registerTab("conflicts", {
  // conflicts between people and the server's tier recomputations, each paged on its own
  load: async (sig) => {
    const [people, recomputed] = await Promise.all([
      api("/admin/api/conflicts?side=people&" + pageQuery("conflicts"), sig),
      api("/admin/api/conflicts?side=recomputed&" + pageQuery("recompute"), sig),
    ]);
    return { people, recomputed };
  },
  render: renderConflicts,
});
registerTab("money", {
  load: (sig) => api("/admin/api/money?days=" + S.days + "&" + pageQuery("money") + "&" + pageQuery("money.voids", "voids_"), sig),
  render: renderMoney,
});
registerTab("followups", { load: (sig) => api("/admin/api/follow-ups?" + pageQuery("followups"), sig), render: renderFollowups });
registerTab("tickets", { load: (sig) => api("/admin/api/tickets?" + pageQuery("tickets"), sig), render: renderTickets });
registerTab("appointments", { load: (sig) => api("/admin/api/appointments?" + pageQuery("appointments"), sig), render: renderAppointments });
registerTab("summaries", {
  load: (sig) => api("/admin/api/day-summaries?days=" + S.summaryDays + "&" + pageQuery("summaries") + "&" + pageQuery("computed", "computed_"), sig),
  render: renderSummaries,
});
registerTab("handovers", {
  load: async (sig) => {
    // only an admin hands over: the pickers' lists are loaded for that form alone
    const admin = document.body.dataset.role === "admin";
    const [list, directory] = await Promise.all([
      api("/admin/api/handovers?" + pageQuery("handovers"), sig),
      admin ? api("/admin/api/admin/directory", sig) : null,
    ]);
    return Object.assign({}, list, { directory });
  },
  render: renderHandovers,
});
registerTab("versions", {
  load: async (sig) => {
    // the devices answer is read for its `counts` (over every visible device): one row is enough
    const [releases, devices] = await Promise.all([api("/admin/api/releases", sig), api("/admin/api/devices?limit=1", sig)]);
    return { releases, devices };
  },
  render: renderVersions,
});
registerTab("wipes", {
  load: async (sig) => {
    const [wipes, orderable] = await Promise.all([
      api("/admin/api/devices?wipe=any&" + pageQuery("wipes"), sig),
      api("/admin/api/devices?wipe=orderable&limit=1000", sig),
    ]);
    return { wipes, orderable };
  },
  render: renderWipes,
});

// ---- navigation -------------------------------------------------------------------------------

function show(view) {
  if (!TABS.has(view)) view = TABS.has(HOME) ? HOME : TABS.keys().next().value;
  S.view = view;
  for (const v of TABS.keys()) {
    const section = document.getElementById("view-" + v);
    if (section) section.hidden = v !== view;
  }
  for (const a of document.querySelectorAll(".tabs a")) a.classList.toggle("on", a.dataset.view === view);
  if (S.data[view]) TABS.get(view).render(S.data[view]);
  refresh();
}

function rerender() {
  applyText();
  renderOverview();
  if (S.data[S.view]) TABS.get(S.view).render(S.data[S.view]);
}

document.addEventListener("DOMContentLoaded", () => {
  applyText();
  const asked = Number(new URLSearchParams(location.search).get("refresh"));
  if (asked >= 2) S.refreshS = asked;
  document.getElementById("lang").addEventListener("click", () => { switchLang(); rerender(); });
  document.getElementById("refresh").addEventListener("click", () => refresh(true));
  for (const b of document.querySelectorAll("#range button")) {
    b.addEventListener("click", () => { S.range = b.dataset.range; refresh(true); });
  }
  for (const b of document.querySelectorAll("#period button")) {
    b.addEventListener("click", () => { S.period = b.dataset.period; if (S.data.home) renderHome(S.data.home); });
  }
  document.getElementById("archive-form").addEventListener("submit", (e) => {
    e.preventDefault();
    archiveGo({ q: document.getElementById("archive-q").value.trim(), premises: "", unit: "", offset: 0, household: null });
  });
  for (const id of ["devices-state", "devices-grid"]) {
    // a new filter starts at the first page of what it keeps
    document.getElementById(id).addEventListener("change", () => { S.pages.devices = 0; refresh(true); });
  }
  document.getElementById("devices-filter").addEventListener("submit", (e) => e.preventDefault());
  document.getElementById("archive-grid").addEventListener("change", (e) => {
    archiveGo({ grid: e.target.value, premises: "", unit: "", q: "", offset: 0, household: null });
  });
  document.getElementById("reveal-form").addEventListener("submit", submitReveal);
  document.getElementById("page-prev").addEventListener("click", () => archiveGo({ offset: Math.max(0, S.arch.offset - PAGE) }));
  document.getElementById("page-next").addEventListener("click", () => archiveGo({ offset: S.arch.offset + PAGE }));
  for (const b of document.querySelectorAll("#days button")) {
    b.addEventListener("click", () => { S.days = Number(b.dataset.days); refresh(true); });
  }
  for (const b of document.querySelectorAll("#summary-days button")) {
    b.addEventListener("click", () => {
      // other days are other lists: both start again at their first page
      S.summaryDays = Number(b.dataset.days);
      S.pages.summaries = S.pages.computed = 0;
      refresh(true);
    });
  }
  for (const id of ["handover-scope", "handover-grid", "handover-to"]) {
    document.getElementById(id).addEventListener("change", handoverPickers);
  }
  document.getElementById("handover-form").addEventListener("submit", submitHandover);
  document.getElementById("min-version-form").addEventListener("submit", submitMinVersion);
  document.getElementById("release-form").addEventListener("submit", submitRelease);
  document.getElementById("wipe-form").addEventListener("submit", submitWipe);
  loadNames();
  window.addEventListener("hashchange", () => show(location.hash.slice(1)));
  show(location.hash.slice(1));
  S.timer = setInterval(refresh, S.refreshS * 1000);
});

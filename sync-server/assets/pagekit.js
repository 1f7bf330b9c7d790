// Gridbook back office: what the pages share — a table cell, a JSON call that sends an expired
// session to the login form, a JSON POST with the session's CSRF token in X-CSRF-Token, and the
// handover form's pickers (administration.js and the monitoring page's handover tab, app.js):
// grids, buildings and managers chosen from the server's lists, never typed. Loaded before them
// (all deferred, in order).
"use strict";

window.GridbookPage = (function () {
  const csrf = document.body.dataset.csrf;

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  async function call(url, options) {
    const r = await fetch(url, Object.assign({ credentials: "same-origin" }, options || {}));
    if (r.status === 401) {
      location.href = "/admin/login";
      throw new Error("登录已过期 / session expired");
    }
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.message || `HTTP ${r.status}`);
    return body;
  }

  function post(url, payload) {
    return call(url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify(payload || {}),
    });
  }

  const when = (ms) => (ms ? new Date(ms).toLocaleString("zh-CN", { hour12: false }) : "");

  /// Fills `select` with `items` ([value, label]), keeping the chosen value when it is still there.
  function options(select, items, keep) {
    const before = keep ? select.value : "";
    select.textContent = "";
    for (const [value, label] of items) {
      const o = document.createElement("option");
      o.value = value;
      o.textContent = label;
      select.appendChild(o);
    }
    if (before && items.some(([v]) => v === before)) select.value = before;
  }

  /// The handover form's pickers from `directory` (/admin/api/admin/directory): `ids` names its
  /// selects {form, scope, grid, from, building, to, toGrid}. The grid's managers to hand over
  /// from, the buildings of the grid (/admin/api/buildings), the receiving manager's grids; the
  /// labels of the other scope are hidden. Keeps what was chosen.
  async function handoverPickers(ids, directory) {
    const $ = (id) => document.getElementById(id);
    const scope = $(ids.scope).value;
    for (const l of $(ids.form).querySelectorAll("label[data-for]")) l.hidden = l.dataset.for !== scope;
    const gridName = (id) => (directory.grids.find((g) => g.id === id) || { name: id }).name;
    options($(ids.grid), directory.grids.map((g) => [g.id, g.name]), true);
    const field = directory.people.filter((p) => p.role === "field").map((p) => [p.id, p.name]);
    options($(ids.to), field, true);
    const grid = directory.grids.find((g) => g.id === $(ids.grid).value);
    options($(ids.from), grid ? grid.managers.map((m) => [m.id, m.name]) : [], true);
    const to = directory.people.find((p) => p.id === $(ids.to).value);
    options($(ids.toGrid), to ? to.grids.map((g) => [g, gridName(g)]) : [], true);
    if (scope === "building" && grid) {
      const b = await call(`/admin/api/buildings?grid=${encodeURIComponent(grid.id)}`);
      options($(ids.building), b.buildings.map((x) => [x.id, x.name + (x.address ? ` · ${x.address}` : "")]), true);
    }
  }

  return { cell, call, post, when, options, handoverPickers };
})();

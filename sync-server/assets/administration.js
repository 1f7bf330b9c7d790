// Gridbook back office, administration (/admin/administration): grids (create, rename), who
// holds them (field managers and supervisors: assign, unassign), handovers chosen from lists, a
// billing file loaded, each manager's staff number (工号) for their receipts, a one-time enrolment code with its QR code (shown once), device
// revocation, and the audit trail filtered and paged. Every picker is fed by the server's lists
// (/admin/api/admin/directory, /admin/api/buildings): no id is typed by hand. zh-CN first with
// English beside it; writes carry the session's CSRF token in X-CSRF-Token and are an admin's.
"use strict";

(function () {
  const { cell, call, post, when, options } = window.GridbookPage;
  const admin = document.body.dataset.role === "admin";
  const $ = (id) => document.getElementById(id);
  const ROLES = { field: "客户经理 / Manager", supervisor: "主管 / Supervisor", admin: "管理员 / Admin" };
  /// Rows to a page of the lists the server pages here (the audit trail, the handovers).
  const PAGE = 50;
  let directory = { grids: [], people: [] };
  /// Where each list the server pages here is: its first row shown.
  const auditAt = { offset: 0 };
  const handoversAt = { offset: 0 };
  const devicesAt = { offset: 0 };

  const gridName = (id) => (directory.grids.find((g) => g.id === id) || { name: id }).name;
  const personName = (id) => (directory.people.find((p) => p.id === id) || { name: id }).name;

  function say(id, text, ok) {
    const out = $(id);
    out.className = ok ? "ok" : "bad";
    out.textContent = text;
  }

  // ---- grids and people ------------------------------------------------------------------------

  async function loadDirectory() {
    directory = await call("/admin/api/admin/directory");
    const names = (list) => list.map((p) => p.name).join("、");
    const tbody = $("grids-table").querySelector("tbody");
    tbody.textContent = "";
    for (const g of directory.grids) {
      const tr = document.createElement("tr");
      tr.dataset.grid = g.id;
      cell(tr, g.name, "strong");
      cell(tr, g.id, "mono");
      cell(tr, names(g.managers) || "—");
      cell(tr, names(g.supervisors) || "—");
      const td = cell(tr, "");
      if (admin) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "rename";
        b.textContent = "改名 / Rename";
        b.addEventListener("click", () => renameGrid(g));
        td.appendChild(b);
      }
      tbody.appendChild(tr);
    }
    const pbody = $("people-table").querySelector("tbody");
    pbody.textContent = "";
    for (const p of directory.people) {
      const tr = document.createElement("tr");
      tr.dataset.person = p.id;
      cell(tr, p.name, "strong");
      cell(tr, p.id, "mono");
      cell(tr, ROLES[p.role] || p.role);
      cell(tr, p.staff_no || "—", "mono staff-no");
      cell(tr, p.role === "admin" ? "全部 / all" : p.grids.map(gridName).join("、") || "尚未分配网格 / no grid assigned yet");
      pbody.appendChild(tr);
    }
    const assignable = directory.people.filter((p) => p.role !== "admin");
    options($("assign-person"), assignable.map((p) => [p.id, `${p.name}（${ROLES[p.role] || p.role}）`]), true);
    const grids = directory.grids.map((g) => [g.id, g.name]);
    options($("assign-grid"), grids, true);
    const field = directory.people.filter((p) => p.role === "field").map((p) => [p.id, p.name]);
    options($("staff-no-person"), field, true);
    staffNoShown();
    options($("audit-actors"), directory.people.map((p) => [p.id, p.name]));
    const enrol = $("managers");
    enrol.textContent = "";
    for (const p of directory.people.filter((x) => x.role === "field")) {
      const o = document.createElement("option");
      o.value = p.id;
      o.label = p.name;
      enrol.appendChild(o);
    }
    await handoverPickers();
  }

  async function renameGrid(g) {
    const name = prompt(`网格“${g.name}”的新名称 / New name for ${g.id}`, g.name);
    if (name == null || !name.trim() || name.trim() === g.name) return;
    try {
      await post(`/admin/api/admin/grids/${encodeURIComponent(g.id)}/rename`, { name: name.trim() });
      say("grid-result", `已改名 / Renamed: ${g.name} → ${name.trim()}`, true);
      await Promise.all([loadDirectory(), loadAudit()]);
    } catch (err) {
      say("grid-result", "未改名 / Not renamed: " + err.message, false);
    }
  }

  $("grid-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const g = await post("/admin/api/admin/grids", { id: $("grid-id").value.trim(), name: $("grid-name").value.trim() });
      say("grid-result", `已新建 / Created: ${g.name} (${g.id})`, true);
      $("grid-id").value = "";
      $("grid-name").value = "";
      await Promise.all([loadDirectory(), loadAudit()]);
    } catch (err) {
      say("grid-result", "未新建 / Not created: " + err.message, false);
    }
  });

  async function assign(assigned) {
    const person = $("assign-person").value;
    const grid = $("assign-grid").value;
    if (!person || !grid) return;
    try {
      const r = await post("/admin/api/admin/assignments", { manager_id: person, grid_id: grid, assigned });
      const what = assigned ? "已分配 / Assigned" : "已取消分配 / Unassigned";
      const same = r.changed ? "" : "（无变化 / unchanged）";
      say("assign-result", `${what}: ${personName(person)} · ${gridName(grid)}${same}`, true);
      await Promise.all([loadDirectory(), loadAudit()]);
    } catch (err) {
      say("assign-result", "未完成 / Not done: " + err.message, false);
    }
  }
  $("assign-add").addEventListener("click", () => assign(true));
  $("assign-remove").addEventListener("click", () => assign(false));

  // ---- staff numbers (工号), printed on the manager's receipts --------------------------------------

  function staffNoShown() {
    const p = directory.people.find((x) => x.id === $("staff-no-person").value);
    $("staff-no").value = p ? p.staff_no || "" : "";
  }
  $("staff-no-person").addEventListener("change", staffNoShown);
  $("staff-no-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const person = $("staff-no-person").value;
    if (!person) return;
    try {
      const r = await post(`/admin/api/admin/people/${encodeURIComponent(person)}/staff-no`, { staff_no: $("staff-no").value.trim() });
      const same = r.changed ? "" : "（无变化 / unchanged）";
      say("staff-no-result", `已保存 / Saved: ${personName(person)} · ${r.staff_no || "—"}${same}`, true);
      await Promise.all([loadDirectory(), loadAudit()]);
    } catch (err) {
      say("staff-no-result", "未保存 / Not saved: " + err.message, false);
    }
  });

  // ---- handovers -------------------------------------------------------------------------------

  const HANDOVER = { form: "ho-form", scope: "ho-scope", grid: "ho-grid", from: "ho-from", building: "ho-building", to: "ho-to", toGrid: "ho-to-grid" };
  const handoverPickers = () => window.GridbookPage.handoverPickers(HANDOVER, directory);
  for (const id of ["ho-scope", "ho-grid", "ho-to"]) {
    $(id).addEventListener("change", () => handoverPickers().catch((err) => say("ho-result", err.message, false)));
  }

  /// The bar under a list the server pages (`prefix`-prev, -total, -next): which rows of how many.
  function showPage(prefix, d, shown) {
    const last = Math.min(d.offset + shown, d.total);
    $(prefix + "-total").textContent = d.total
      ? `共 ${d.total} 条，第 ${d.offset + 1}–${last} 条 / ${d.total} total, ${d.offset + 1}–${last}`
      : "共 0 条 / 0 total";
    $(prefix + "-prev").disabled = d.offset === 0;
    $(prefix + "-next").disabled = last >= d.total;
  }

  async function loadHandovers() {
    const q = new URLSearchParams({ limit: String(PAGE), offset: String(handoversAt.offset) });
    const d = await call("/admin/api/handovers?" + q);
    const tbody = $("ho-table").querySelector("tbody");
    tbody.textContent = "";
    for (const h of d.handovers) {
      const tr = document.createElement("tr");
      tr.className = "handover-" + h.state;
      cell(tr, when(h.created_at_ms));
      cell(tr, h.scope === "building"
        ? `楼宇 / building ${h.premises_name || ""}`
        : `网格 / grid ${gridName(h.from_grid)}`);
      cell(tr, `${h.to_manager_name || h.to_manager} · ${gridName(h.to_grid)}`);
      cell(tr, h.records);
      cell(tr, h.state === "done" ? "完成 / done" : "等待原设备 / waiting for the old devices");
      tbody.appendChild(tr);
    }
    showPage("ho", d, d.handovers.length);
  }
  const handoversFailed = (err) => say("ho-result", "加载失败 / Could not load: " + err.message, false);
  /// The buttons under a list the server pages (`prefix`-prev, -next): a page back, a page on.
  function pageButtons(prefix, at, load, failed) {
    $(prefix + "-prev").addEventListener("click", () => {
      at.offset = Math.max(0, at.offset - PAGE);
      load().catch(failed);
    });
    $(prefix + "-next").addEventListener("click", () => {
      at.offset += PAGE;
      load().catch(failed);
    });
  }
  pageButtons("ho", handoversAt, loadHandovers, handoversFailed);

  $("ho-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = (id) => $(id).value;
    const scope = v("ho-scope");
    const body = scope === "grid"
      ? { scope, grid: v("ho-grid"), from: v("ho-from"), to: v("ho-to") }
      : { scope, premises: v("ho-building"), to: v("ho-to"), to_grid: v("ho-to-grid") };
    const what = scope === "grid" ? gridName(body.grid) : $("ho-building").selectedOptions[0]?.textContent || "";
    if (!confirm(`将 ${what} 交给 ${personName(body.to)}？/ Hand it over?`)) return;
    try {
      const r = await post("/admin/api/handovers", body);
      say("ho-result", `已交接，共 ${r.records} 条记录 / Handed over: ${r.records} records`, true);
      await Promise.all([loadDirectory(), loadHandovers(), loadAudit()]);
    } catch (err) {
      say("ho-result", "交接失败 / Handover failed: " + err.message, false);
    }
  });

  // ---- billing ---------------------------------------------------------------------------------

  $("billing-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = $("billing-file").files[0];
    if (!file) {
      say("billing-result", "请选择文件 / Choose a file", false);
      return;
    }
    say("billing-result", "载入中… / Loading…", true);
    try {
      const r = await call("/admin/api/admin/billing-file", {
        method: "POST",
        headers: { "content-type": "text/plain; charset=utf-8", "x-csrf-token": document.body.dataset.csrf },
        body: await file.text(),
      });
      say("billing-result",
        `已载入 / Loaded: 收到 ${r.received} 条 / received，写入 ${r.written} / written，未变 ${r.unchanged} / unchanged`, true);
      const table = $("billing-table");
      const tbody = table.querySelector("tbody");
      tbody.textContent = "";
      for (const t of r.tiers) {
        const tr = document.createElement("tr");
        cell(tr, gridName(t.grid_id));
        for (const k of ["ranked", "high", "middle", "low", "changed", "unranked"]) cell(tr, t[k], "num");
        tbody.appendChild(tr);
      }
      table.hidden = false;
      await loadAudit();
    } catch (err) {
      say("billing-result", "未载入 / Not loaded: " + err.message, false);
    }
  });

  // ---- enrolment codes and devices -------------------------------------------------------------

  /// The devices a page at a time, in the sync-health order, with the total of all.
  async function loadDevices() {
    const q = new URLSearchParams({ limit: String(PAGE), offset: String(devicesAt.offset) });
    const d = await call("/admin/api/devices?" + q);
    const tbody = $("admin-devices").querySelector("tbody");
    tbody.textContent = "";
    for (const dev of d.devices) {
      const tr = document.createElement("tr");
      tr.dataset.device = dev.device_id;
      cell(tr, dev.device_id);
      cell(tr, `${dev.manager_name || ""} (${dev.manager_id})`);
      cell(tr, when(dev.last_seen_ms));
      cell(tr, dev.revoked_at_ms ? `已吊销 / Revoked ${when(dev.revoked_at_ms)}` : "正常 / Active");
      const td = cell(tr, "");
      if (admin && !dev.revoked_at_ms) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "revoke";
        b.textContent = "吊销 / Revoke";
        b.addEventListener("click", async () => {
          if (!confirm(`吊销设备 ${dev.device_id}？/ Revoke this device?`)) return;
          try {
            await post(`/admin/api/admin/devices/${encodeURIComponent(dev.device_id)}/revoke`);
            // said once the table shows it too
            await Promise.all([loadDevices(), loadAudit()]);
            $("revoke-result").textContent = `已吊销 / Revoked: ${dev.device_id}`;
          } catch (err) {
            $("revoke-result").textContent = "未完成 / Not done: " + err.message;
          }
        });
        td.appendChild(b);
      }
      tbody.appendChild(tr);
    }
    showPage("dev", d, d.devices.length);
  }
  pageButtons("dev", devicesAt, loadDevices, (err) => say("revoke-result", "加载失败 / Could not load: " + err.message, false));

  $("enrol-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const out = $("enrol-result");
    out.textContent = "";
    $("enrol-shown").hidden = true;
    try {
      const c = await post("/admin/api/admin/enrol-codes", {
        manager_id: $("enrol-manager").value.trim(),
        valid_hours: Number($("enrol-hours").value) || 72,
      });
      $("enrol-code").textContent = c.code;
      $("enrol-expires").textContent = when(c.expires_at_ms);
      if (c.qr_svg) $("enrol-qr").src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(c.qr_svg);
      $("enrol-shown").hidden = false;
      out.textContent = `已生成，仅显示一次 / Issued, shown this once: ${c.manager_id}`;
      await loadAudit();
    } catch (err) {
      out.textContent = "未生成 / Not issued: " + err.message;
    }
  });

  // ---- the audit trail -------------------------------------------------------------------------

  async function loadAudit() {
    const q = new URLSearchParams({ limit: String(PAGE), offset: String(auditAt.offset) });
    for (const k of ["subject", "action", "actor", "from", "to"]) {
      const v = $("audit-" + k).value.trim();
      if (v) q.set(k, v);
    }
    const d = await call("/admin/api/admin/audit?" + q);
    const tbody = $("audit-table").querySelector("tbody");
    tbody.textContent = "";
    for (const a of d.audit) {
      const tr = document.createElement("tr");
      cell(tr, when(a.at_ms));
      cell(tr, a.actor === personName(a.actor) ? a.actor : `${personName(a.actor)} (${a.actor})`);
      cell(tr, a.action, "mono");
      cell(tr, a.subject);
      cell(tr, a.detail);
      tbody.appendChild(tr);
    }
    showPage("audit", d, d.audit.length);
  }

  const auditFailed = (err) => ($("revoke-result").textContent = "加载失败 / Could not load: " + err.message);
  $("audit-filter").addEventListener("submit", (ev) => {
    ev.preventDefault();
    auditAt.offset = 0;
    loadAudit().catch(auditFailed);
  });
  pageButtons("audit", auditAt, loadAudit, auditFailed);

  if (!admin) {
    $("admin-only").hidden = false;
    $("enrol-submit").disabled = true;
    for (const b of document.querySelectorAll(".admin-write")) b.disabled = true;
  }
  Promise.all([loadDirectory(), loadDevices(), loadHandovers(), loadAudit()])
    .then(() => (document.body.dataset.loaded = "administration"))
    .catch(auditFailed);
})();

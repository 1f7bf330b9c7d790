// Gridbook back office: importing sheets (with the report of refused rows) and export links.
// Labels are zh-CN first with English beside them; the sheet goes up as the raw request body.
"use strict";

(function () {
  const body = document.body;
  const csrf = body.dataset.csrf;
  const $ = (id) => document.getElementById(id);
  const status = $("transfer-status");

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
  }

  function grid() {
    return $("grid").value;
  }

  function exportLinks() {
    const full = $("full").checked;
    for (const tr of document.querySelectorAll("#export-table tr[data-dataset]")) {
      const links = tr.querySelector(".links");
      links.textContent = "";
      for (const format of ["xlsx", "csv"]) {
        const q = new URLSearchParams({ grid: grid(), format });
        if ($("from").value) q.set("from", $("from").value);
        if ($("to").value) q.set("to", $("to").value);
        if (full) q.set("full", "true");
        const a = document.createElement("a");
        a.href = "/admin/api/export/" + tr.dataset.dataset + "?" + q;
        a.textContent = format.toUpperCase();
        a.className = "export-link";
        a.dataset.format = format;
        links.appendChild(a);
        links.appendChild(document.createTextNode(" "));
      }
      // visits and receipts also come as a ZIP with the photos their rows name (XLSX inside)
      if (tr.dataset.dataset === "visits" || tr.dataset.dataset === "receipts") {
        const q = new URLSearchParams({ grid: grid(), format: "xlsx" });
        if ($("from").value) q.set("from", $("from").value);
        if ($("to").value) q.set("to", $("to").value);
        if (full) q.set("full", "true");
        const a = document.createElement("a");
        a.href = "/admin/api/export/" + tr.dataset.dataset + "/photos?" + q;
        a.textContent = "ZIP（含照片 / with photos）";
        a.className = "export-link";
        a.dataset.format = "zip";
        links.appendChild(a);
      }
    }
    for (const sheet of ["archives", "arrears"]) {
      $("template-" + sheet).href = "/admin/api/import/" + sheet + "/template?format=xlsx";
    }
  }

  function showReport(r) {
    const box = $("import-result");
    box.textContent = "";
    const p = document.createElement("p");
    p.id = "import-summary";
    p.className = "strong";
    const mode = r.dry_run ? "检查结果（未写入） / Check only, nothing written" : "已导入 / Imported";
    p.textContent = `${mode}: 共 ${r.rows} 行 / rows · 新建 ${r.created} created · 更新 ${r.updated} updated · ` +
      `未变 ${r.unchanged} unchanged · 拒绝 ${r.refused_rows} refused · 新建楼宇 ${r.premises_created} premises`;
    box.appendChild(p);
    if (r.unknown_columns.length) {
      const u = document.createElement("p");
      u.className = "note";
      u.textContent = "未识别的列（未导入） / Unknown columns (not read): " + r.unknown_columns.join("、");
      box.appendChild(u);
    }
    const table = $("refused-table");
    const tbody = table.querySelector("tbody");
    tbody.textContent = "";
    for (const f of r.refused) {
      const tr = document.createElement("tr");
      cell(tr, String(f.row), "num");
      cell(tr, f.column);
      cell(tr, f.value, "mono");
      cell(tr, f.reason_zh);
      cell(tr, f.reason_en, "small");
      tbody.appendChild(tr);
    }
    table.hidden = r.refused.length === 0;
  }

  async function upload(dryRun) {
    const file = $("sheet-file").files[0];
    if (!file) {
      status.textContent = "请选择文件 / Choose a file";
      return;
    }
    const sheet = document.querySelector("input[name=sheet]:checked").value;
    const q = new URLSearchParams({ grid: grid(), dry_run: String(dryRun), file: file.name });
    status.textContent = "正在处理… / Working…";
    const r = await fetch("/admin/api/import/" + sheet + "?" + q, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/octet-stream", Accept: "application/json" },
      body: file,
    });
    const data = await r.json().catch(() => ({ code: "bad_answer", message: "HTTP " + r.status }));
    if (!r.ok) {
      status.textContent = `导入失败 / Import failed: ${data.message || data.code}`;
      status.className = "note error";
      $("import-result").textContent = "";
      $("refused-table").hidden = true;
      return;
    }
    status.textContent = "";
    status.className = "note";
    showReport(data);
  }

  async function start() {
    const r = await fetch("/admin/api/transfer", { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!r.ok) {
      status.textContent = "无法加载 / Could not load: HTTP " + r.status;
      return;
    }
    const info = await r.json();
    for (const g of info.grids) {
      const o = document.createElement("option");
      o.value = g.id;
      o.textContent = g.name ? `${g.name} (${g.id})` : g.id;
      $("grid").appendChild(o);
    }
    $("import-form").hidden = !info.may_import;
    $("import-denied").hidden = info.may_import;
    $("full-label").hidden = !info.may_export_full;
    let dry = true;
    for (const b of document.querySelectorAll("#import-form button[type=submit]")) {
      b.addEventListener("click", () => { dry = b.dataset.dry === "true"; });
    }
    $("import-form").addEventListener("submit", (e) => {
      e.preventDefault();
      upload(dry).catch((err) => { status.textContent = "导入失败 / Import failed: " + err; });
    });
    for (const id of ["grid", "from", "to", "full"]) $(id).addEventListener("change", exportLinks);
    exportLinks();
    body.dataset.ready = "true";
  }

  start().catch((err) => { status.textContent = "无法加载 / Could not load: " + err; });
})();

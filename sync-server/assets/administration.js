// Gridbook back office, administration (/admin/administration): a one-time enrolment code with
// its QR code, shown once; device revocation. zh-CN first with English beside it; writes carry
// the session's CSRF token in X-CSRF-Token and are an admin's.
"use strict";

(function () {
  const { cell, call, post, when } = window.GridbookPage;
  const admin = document.body.dataset.role === "admin";
  const $ = (id) => document.getElementById(id);




  async function loadDevices() {
    const d = await call("/admin/api/devices");
    const list = $("managers");
    list.textContent = "";
    const seen = new Set();
    const tbody = $("admin-devices").querySelector("tbody");
    tbody.textContent = "";
    for (const v of d.devices) {
      const dev = v;
      if (!seen.has(dev.manager_id)) {
        seen.add(dev.manager_id);
        const o = document.createElement("option");
        o.value = dev.manager_id;
        o.label = dev.manager_name;
        list.appendChild(o);
      }
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
            $("revoke-result").textContent = `已吊销 / Revoked: ${dev.device_id}`;
            await Promise.all([loadDevices(), loadAudit()]);
          } catch (err) {
            $("revoke-result").textContent = "未完成 / Not done: " + err.message;
          }
        });
        td.appendChild(b);
      }
      tbody.appendChild(tr);
    }
  }

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
    } catch (err) {
      out.textContent = "未生成 / Not issued: " + err.message;
    }
  });

  async function loadAudit() {
    const q = new URLSearchParams({ limit: "200" });
    for (const k of ["subject", "action", "actor"]) {
      const v = $("audit-" + k).value.trim();
      if (v) q.set(k, v);
    }
    const d = await call("/admin/api/admin/audit?" + q);
    const tbody = $("audit-table").querySelector("tbody");
    tbody.textContent = "";
    for (const a of d.audit) {
      const tr = document.createElement("tr");
      cell(tr, when(a.at_ms));
      cell(tr, a.actor);
      cell(tr, a.action);
      cell(tr, a.subject);
      cell(tr, a.detail);
      tbody.appendChild(tr);
    }
  }

  $("audit-filter").addEventListener("submit", (ev) => {
    ev.preventDefault();
    loadAudit().catch((err) => ($("revoke-result").textContent = "加载失败 / Could not load: " + err.message));
  });

  if (!admin) {
    $("admin-only").hidden = false;
    $("enrol-submit").disabled = true;
  }
  Promise.all([loadDevices(), loadAudit()]).catch(
    (err) => ($("revoke-result").textContent = "加载失败 / Could not load: " + err.message),
  );
})();

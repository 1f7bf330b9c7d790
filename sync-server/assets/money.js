// Gridbook back office, money controls (/admin/money): receipts paged with their flags and the
// total, one receipt in detail, voids approved or refused, cash hand-ins (交款), paged with their
// total. zh-CN first with English beside it; writes carry the session's CSRF token in
// X-CSRF-Token.
"use strict";

(function () {
  const { cell, call, post, when } = window.GridbookPage;
  const $ = (id) => document.getElementById(id);
  const PAGE = 50;
  /// Where each list the server pages is: its first row shown and the count of all.
  const receiptsAt = { at: 0, total: 0 };
  const handInsAt = { at: 0, total: 0 };
  const voidsAt = { at: 0, total: 0 };
  let candidates = [];

  const yuan = (fen) => {
    const sign = fen < 0 ? "-" : "";
    const a = Math.abs(fen);
    const whole = Math.floor(a / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return `${sign}¥${whole}.${String(a % 100).padStart(2, "0")}`;
  };
  const FLAGS = {
    over_collected: "超收 / Over-collected",
    owed_before_differs: "欠费不符 / Owed differs",
  };
  const VOID = { pending: "待审批 / Pending", approved: "已批准 / Approved", refused: "已驳回 / Refused" };
  const METHOD = { cash: "现金 / Cash", wechat: "微信 / WeChat", alipay: "支付宝 / Alipay", card: "银行卡 / Card" };




  /// Every field manager the staff member may see, from the directory (the grids they may see
  /// and the accounts in them), not from a page of devices: a province has thousands of phones.
  async function loadManagers() {
    const d = await call("/admin/api/admin/directory");
    const admin = document.body.dataset.role === "admin";
    const seen = new Map();
    // a supervisor's directory lists each account with only the grids they may see
    for (const p of d.people) if (p.role === "field" && (admin || p.grids.length)) seen.set(p.id, p.name);
    for (const sel of [$("collector"), $("hand-in-manager")]) {
      for (const [id, name] of [...seen].sort((a, b) => a[0].localeCompare(b[0]))) {
        const o = document.createElement("option");
        o.value = id;
        o.textContent = name ? `${name} (${id})` : id;
        sel.appendChild(o);
      }
    }
  }

  async function loadReceipts() {
    const offset = receiptsAt.at;
    const q = new URLSearchParams({ offset: String(offset), limit: String(PAGE) });
    if ($("flagged").checked) q.set("flagged", "true");
    if ($("collector").value) q.set("collector", $("collector").value);
    if ($("receipt-no").value.trim()) q.set("receipt_no", $("receipt-no").value.trim());
    const page = await call("/admin/api/money/receipts?" + q);
    const total = (receiptsAt.total = page.total);
    $("receipts-total").textContent =
      `共 ${page.total} 张，合计 ${yuan(page.total_fen)}（已批准作废的不计） / ${page.total} receipts, ${yuan(page.total_fen)} in all (voids approved left out)`;
    const last = Math.min(offset + page.receipts.length, total);
    $("page-info").textContent = total ? `${offset + 1}–${last} / ${total}` : "0 / 0";
    $("prev-page").disabled = offset === 0;
    $("next-page").disabled = offset + PAGE >= total;
    const tbody = $("money-receipts").querySelector("tbody");
    tbody.textContent = "";
    for (const r of page.receipts) {
      const tr = document.createElement("tr");
      tr.dataset.receiptNo = r.receipt_no;
      if (r.flags.length) tr.className = "flagged";
      const a = document.createElement("a");
      a.href = "#receipt=" + encodeURIComponent(r.receipt_no);
      a.textContent = r.receipt_no;
      a.className = "receipt-link";
      cell(tr, "").appendChild(a);
      cell(tr, when(r.collected_at_ms));
      cell(tr, r.collector_name || r.collector_id);
      cell(tr, r.grid_id);
      cell(tr, yuan(r.amount_fen), "num");
      cell(tr, yuan(r.owed_before_fen), "num");
      cell(tr, r.owed_at_arrival_fen == null ? "—" : yuan(r.owed_at_arrival_fen), "num");
      cell(tr, METHOD[r.method] || r.method);
      const flags = cell(tr, "", "badges");
      for (const f of r.flags) {
        const b = document.createElement("span");
        b.className = "badge warn flag-" + f;
        b.textContent = FLAGS[f] || f;
        flags.appendChild(b);
      }
      cell(tr, r.void_status ? VOID[r.void_status] || r.void_status : "");
      cell(tr, r.hand_in_id ? "已交 / Yes" : r.method === "cash" ? "未交 / No" : "—");
      tbody.appendChild(tr);
    }
  }

  async function showReceipt(no) {
    const d = await call("/admin/api/money/receipts/" + encodeURIComponent(no));
    const r = d.receipt;
    const e = d.evidence || {};
    $("receipt-detail").hidden = false;
    $("detail-no").textContent = r.receipt_no;
    const rows = [
      ["收据编号 / No.", r.receipt_no],
      ["收款时间 / Collected", when(r.collected_at_ms)],
      ["经理 / Collector", `${r.collector_name || ""} (${r.collector_id})`],
      ["网格 / Grid", r.grid_id],
      ["账户 / Account", r.account_id],
      ["实收金额 / Amount paid", yuan(r.amount_fen)],
      ["收据欠费 / Owed before (receipt)", yuan(r.owed_before_fen)],
      ["到达时账户欠费 / Owed on arrival (account)", r.owed_at_arrival_fen == null ? "—" : yuan(r.owed_at_arrival_fen)],
      ["收取现金 / Cash received", yuan(r.cash_received_fen)],
      ["找零 / Change", yuan(r.change_fen)],
      ["付款方式 / Method", METHOD[r.method] || r.method],
      ["标记 / Flags", r.flags.map((f) => FLAGS[f] || f).join("；") || "无 / None"],
      ["签字核验 / Signature check", e.verification || "—"],
      ["签字人 / Signed by", e.signer_name ? `${e.signer_name} (${e.signer_relation || ""})` : "—"],
      ["验证码 / Verification code", e.verification_code || "—"],
      ["作废 / Void", r.void_status ? VOID[r.void_status] || r.void_status : "无 / None"],
      ["交款 / Handed in", r.hand_in_id ? "已交 / Yes" : r.method === "cash" ? "未交 / No" : "—"],
    ];
    const tbody = $("detail-table").querySelector("tbody");
    tbody.textContent = "";
    for (const [k, v] of rows) {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.textContent = k;
      tr.appendChild(th);
      cell(tr, v).dataset.field = k;
      tbody.appendChild(tr);
    }
    const img = $("detail-signature");
    if (e.signature_svg) {
      img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(e.signature_svg);
      img.hidden = false;
    } else {
      img.hidden = true;
    }
    $("print-link").href = "/admin/money/receipts/" + encodeURIComponent(r.receipt_no) + "/print";
    const v = d.visit;
    $("detail-visit").textContent = v
      ? `${when(v.arrived_at_ms)} · ${v.purpose} · ${v.outcome}${v.signed ? " · 客户已签字 / signed" : ""}`
      : "未找到同时段的走访 / No visit found around the collection";
    const vb = $("detail-voids").querySelector("tbody");
    vb.textContent = "";
    for (const x of d.voids) {
      const tr = document.createElement("tr");
      cell(tr, VOID[x.status] || x.status);
      cell(tr, x.reason);
      cell(tr, x.note || "");
      cell(tr, x.decided_by || "");
      vb.appendChild(tr);
    }
    $("receipt-detail").scrollIntoView();
  }

  async function loadVoids() {
    const at = voidsAt.at;
    const q = new URLSearchParams({ status: "pending", offset: String(at), limit: String(PAGE) });
    const d = await call("/admin/api/money/voids?" + q);
    voidsAt.total = d.total;
    if (!d.voids.length && at > 0) {
      // the last one of the last page was decided: the page before
      voidsAt.at = Math.max(0, at - PAGE);
      return loadVoids();
    }
    pageInfo("voids", at, d.voids.length, d.total);
    const tbody = $("pending-voids").querySelector("tbody");
    tbody.textContent = "";
    for (const v of d.voids) {
      const tr = document.createElement("tr");
      tr.dataset.voidId = v.void_id;
      cell(tr, v.receipt_no || v.receipt_id);
      cell(tr, v.amount_fen == null ? "" : yuan(v.amount_fen), "num");
      cell(tr, v.reason);
      cell(tr, when(v.requested_at_ms));
      const note = document.createElement("input");
      note.className = "void-note";
      note.maxLength = 500;
      note.setAttribute("aria-label", "意见 / Note");
      cell(tr, "").appendChild(note);
      const td = cell(tr, "");
      for (const [decision, label] of [["approve", "批准 / Approve"], ["refuse", "驳回 / Refuse"]]) {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = label;
        b.className = "void-" + decision;
        b.addEventListener("click", async () => {
          try {
            const row = await post(`/admin/api/money/voids/${encodeURIComponent(v.void_id)}/decision`, {
              decision,
              note: note.value,
            });
            $("void-result").textContent = `${row.receipt_no || row.receipt_id}: ${VOID[row.status] || row.status}`;
            await Promise.all([loadVoids(), loadReceipts()]);
          } catch (err) {
            $("void-result").textContent = "未完成 / Not done: " + err.message;
          }
        });
        td.appendChild(b);
      }
      tbody.appendChild(tr);
    }
    if (!d.voids.length) {
      const tr = document.createElement("tr");
      cell(tr, "没有待审批的作废申请 / No voids waiting").colSpan = 6;
      tbody.appendChild(tr);
    }
  }

  function selectedSum() {
    let sum = 0;
    const ids = [];
    for (const box of document.querySelectorAll("#hand-in-receipts input[type=checkbox]:checked")) {
      const c = candidates.find((x) => x.id === box.value);
      if (c) {
        sum += c.amount_fen;
        ids.push(c.id);
      }
    }
    $("hand-in-selected").textContent = `已选 ${ids.length} 张，合计 ${yuan(sum)} / ${ids.length} receipts, ${yuan(sum)}`;
    return { sum, ids };
  }

  async function loadCandidates() {
    const manager = $("hand-in-manager").value;
    const tbody = $("hand-in-receipts").querySelector("tbody");
    tbody.textContent = "";
    candidates = [];
    if (manager) {
      const q = new URLSearchParams({ collector: manager, not_handed_in: "true", limit: "500" });
      candidates = (await call("/admin/api/money/receipts?" + q)).receipts;
    }
    for (const c of candidates) {
      const tr = document.createElement("tr");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = c.id;
      box.checked = true;
      box.setAttribute("aria-label", c.receipt_no);
      box.addEventListener("change", selectedSum);
      cell(tr, "").appendChild(box);
      cell(tr, c.receipt_no);
      cell(tr, when(c.collected_at_ms));
      cell(tr, yuan(c.amount_fen), "num");
      tbody.appendChild(tr);
    }
    selectedSum();
  }

  /** "128.5" → 12850 fen; null for anything that is not an amount of yuan with at most two decimals. */
  function fen(text) {
    const m = /^\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(text.replace(/[,，¥]/g, ""));
    if (!m) return null;
    return Number(m[1]) * 100 + Number((m[2] || "").padEnd(2, "0"));
  }

  async function loadHandIns() {
    const at = handInsAt.at;
    const d = await call("/admin/api/money/hand-ins?" + new URLSearchParams({ offset: String(at), limit: String(PAGE) }));
    handInsAt.total = d.total;
    pageInfo("hand-ins", at, d.hand_ins.length, d.total);
    const days = $("cash-days").querySelector("tbody");
    days.textContent = "";
    for (const c of d.cash_days) {
      const tr = document.createElement("tr");
      cell(tr, c.day);
      cell(tr, c.manager_name || c.manager_id);
      cell(tr, c.collected_count, "num");
      cell(tr, yuan(c.collected_fen), "num");
      cell(tr, yuan(c.handed_in_fen), "num");
      cell(tr, yuan(c.outstanding_fen), c.outstanding_fen ? "num flag" : "num");
      days.appendChild(tr);
    }
    const list = $("hand-ins").querySelector("tbody");
    list.textContent = "";
    for (const h of d.hand_ins) {
      const tr = document.createElement("tr");
      cell(tr, when(h.handed_in_at_ms));
      cell(tr, h.manager_name || h.manager_id);
      cell(tr, yuan(h.amount_fen), "num");
      cell(tr, h.receipt_count, "num");
      cell(tr, h.received_by);
      cell(tr, h.note);
      list.appendChild(tr);
    }
  }

  async function route() {
    const m = /^#receipt=(.+)$/.exec(location.hash);
    if (m) await showReceipt(decodeURIComponent(m[1]));
  }

  function report(err) {
    $("receipts-total").textContent = "加载失败 / Could not load: " + err.message;
  }

  $("receipt-filter").addEventListener("submit", (ev) => {
    ev.preventDefault();
    receiptsAt.at = 0;
    loadReceipts().catch(report);
  });
  /// The line under a list the server pages (`prefix`-info, -prev, -next): which rows of how many.
  function pageInfo(prefix, at, shown, total) {
    const last = Math.min(at + shown, total);
    $(prefix + "-info").textContent = total
      ? `第 ${at + 1}–${last} 笔，共 ${total} 笔 / ${at + 1}–${last} of ${total}`
      : "共 0 笔 / none";
    $(prefix + "-prev").disabled = at === 0;
    $(prefix + "-next").disabled = at + PAGE >= total;
  }

  /// The buttons of a list the server pages: a page back, a page on while there is one.
  function pageButtons(prev, next, where, load) {
    $(prev).addEventListener("click", () => {
      where.at = Math.max(0, where.at - PAGE);
      load().catch(report);
    });
    $(next).addEventListener("click", () => {
      if (where.at + PAGE < where.total) where.at += PAGE;
      load().catch(report);
    });
  }
  pageButtons("prev-page", "next-page", receiptsAt, loadReceipts);
  pageButtons("hand-ins-prev", "hand-ins-next", handInsAt, loadHandIns);
  pageButtons("voids-prev", "voids-next", voidsAt, loadVoids);
  $("hand-in-manager").addEventListener("change", () => loadCandidates().catch(report));
  $("hand-in-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const out = $("hand-in-result");
    const { ids } = selectedSum();
    const amount = fen($("hand-in-amount").value);
    if (!$("hand-in-manager").value || !ids.length) {
      out.textContent = "请选择经理和收据 / Choose the manager and the receipts";
      return;
    }
    if (amount == null) {
      out.textContent = "请输入点清的金额，如 128.50 / Type the cash counted, e.g. 128.50";
      return;
    }
    try {
      const h = await post("/admin/api/money/hand-ins", {
        manager_id: $("hand-in-manager").value,
        receipt_ids: ids,
        amount_fen: amount,
        note: $("hand-in-note").value,
      });
      out.textContent = `已登记 ${h.receipt_count} 张收据，${yuan(h.amount_fen)} / Recorded: ${h.receipt_count} receipts, ${yuan(h.amount_fen)}`;
      $("hand-in-amount").value = "";
      await Promise.all([loadCandidates(), loadHandIns(), loadReceipts()]);
    } catch (err) {
      out.textContent = "未登记 / Not recorded: " + err.message;
    }
  });
  window.addEventListener("hashchange", () => route().catch(report));

  Promise.all([loadManagers(), loadReceipts(), loadVoids(), loadHandIns()])
    .then(route)
    .catch(report);
})();

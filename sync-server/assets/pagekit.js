// Gridbook back office: what the pages of their own (money.js, administration.js) share — a
// table cell, a JSON call that sends an expired session to the login form, and a JSON POST with
// the session's CSRF token in X-CSRF-Token. Loaded before them (both deferred, in order).
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

  return { cell, call, post, when };
})();

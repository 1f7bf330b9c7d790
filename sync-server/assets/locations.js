// Gridbook back office, the "走访定位 / visit locations" view (issue 20): visits, appointment
// arrivals, receipts and sign-ins flagged by where they were — far from the household's reference
// position, a mock location, or no fix — per manager and day, with their kind, the distance and a
// link to the fix on AMap (GCJ-02, made by the server), a page at a time with the total.
// On the household page, the household's reference position and a form that sets or corrects it
// (supervisors and admins; CSRF token; audited by the server).
// Loaded after app.js: it registers its tab (registerTab) and adds its words to app.js's tables.
"use strict";

Object.assign(GB_TEXT.zh, {
  "tab.locations": "走访定位",
  "h.locations": "走访定位核查",
  "locations.note": "按经理和日期列出定位异常的走访、预约上门、收款和签到：距客户参考位置超过 {m} 米（或超过定位精度）、模拟定位、30 秒内无定位。最近 {days} 天，共 {n} 条（偏远 {far}，模拟 {mock}，无定位 {nofix}）。",
  "locations.group": "{manager} · {day} · {n} 条",
  "col.arrived": "时间",
  "locations.kind.visit": "走访",
  "locations.kind.appointment_arrival": "预约上门",
  "locations.kind.receipt": "收款",
  "locations.kind.sign_in": "签到",
  "col.household": "客户",
  "col.address": "地址",
  "col.flags": "异常",
  "col.distance": "距参考位置",
  "col.accuracy": "定位精度",
  "col.map": "地图",
  "flag.far": "距离过远",
  "flag.mock": "模拟定位",
  "flag.no_fix": "无定位",
  "locations.metres": "{n} 米",
  "locations.no_reference": "无参考位置",
  "locations.amap": "高德地图",
  "locations.empty": "所选天数内没有定位异常的记录。",
  "reference.lat": "纬度（WGS-84，度）",
  "reference.lon": "经度（WGS-84，度）",
  "reference.submit": "设置参考位置",
  "reference.current": "参考位置：{lat}, {lon}（{source} · {by} · {at}）",
  "reference.none": "尚无参考位置：首次精确定位的走访将设为参考位置，也可在此设置。",
  "reference.first_fix": "首次定位",
  "reference.back_office": "后台设置",
  "reference.bad_number": "请输入十进制度数，例如 28.228000 和 112.938000。",
  "reference.saved": "参考位置已保存，已记入审计日志；此后的走访按新位置核查。",
  "reference.failed": "未能保存：{m}",
  "reference.load_failed": "未能读取参考位置：{m}",
});
Object.assign(GB_TEXT.en, {
  "tab.locations": "Visit locations",
  "h.locations": "Visit location checks",
  "locations.note": "Visits, appointment arrivals, receipts and sign-ins flagged by place, per manager and day: further than {m} m (or the fix's accuracy) from the household's reference position, a mock location, or no fix within 30 s. Last {days} days: {n} (far {far}, mock {mock}, no fix {nofix}).",
  "locations.group": "{manager} · {day} · {n}",
  "col.arrived": "Time",
  "locations.kind.visit": "Visit",
  "locations.kind.appointment_arrival": "Appointment arrival",
  "locations.kind.receipt": "Receipt",
  "locations.kind.sign_in": "Sign-in",
  "col.household": "Household",
  "col.address": "Address",
  "col.flags": "Flags",
  "col.distance": "From reference",
  "col.accuracy": "Accuracy",
  "col.map": "Map",
  "flag.far": "Too far",
  "flag.mock": "Mock location",
  "flag.no_fix": "No fix",
  "locations.metres": "{n} m",
  "locations.no_reference": "no reference",
  "locations.amap": "AMap",
  "locations.empty": "Nothing flagged in these days.",
  "reference.lat": "Latitude (WGS-84, degrees)",
  "reference.lon": "Longitude (WGS-84, degrees)",
  "reference.submit": "Set reference position",
  "reference.current": "Reference position: {lat}, {lon} ({source} · {by} · {at})",
  "reference.none": "No reference position yet: the first precise fix of a visit becomes it, or set it here.",
  "reference.first_fix": "first fix",
  "reference.back_office": "set by the back office",
  "reference.bad_number": "Enter decimal degrees, e.g. 28.228000 and 112.938000.",
  "reference.saved": "Reference position saved and audited; visits from now on are checked against it.",
  "reference.failed": "Not saved: {m}",
  "reference.load_failed": "Could not read the reference position: {m}",
});

S.locationDays = 7;

function locationFlags(v) {
  const span = el("span", { class: "badges" });
  if (v.far) span.append(badge(t("flag.far"), "state-stuck"));
  if (v.mock) span.append(badge(t("flag.mock"), "state-skewed"));
  if (v.no_fix) span.append(badge(t("flag.no_fix"), "state-stale"));
  return span;
}

function renderLocations(data) {
  const shown = data.groups.reduce((n, g) => n + g.visits.length, 0);
  document.getElementById("locations-note").textContent = t("locations.note", {
    m: data.max_distance_m, days: S.locationDays, n: data.total,
    far: data.counts.far, mock: data.counts.mock, nofix: data.counts.no_fix,
  });
  const box = document.getElementById("locations-groups");
  box.replaceChildren();
  // the server pages the visits (a day's group may go on on the next page)
  const bar = document.getElementById("locations-pager");
  bar.replaceChildren();
  serverPager(bar, shown, serverPage("locations", data));
  if (!data.groups.length) {
    box.append(el("p", { class: "muted", id: "locations-empty" }, t("locations.empty")));
    return;
  }
  data.groups.forEach((g, i) => {
    const id = "locations-table-" + i;
    box.append(el("h3", { class: "location-group", "data-manager": g.manager_id, "data-day": g.day },
      t("locations.group", { manager: g.manager_name || g.manager_id, day: g.day, n: g.visits.length })));
    box.append(el("div", { class: "table-wrap" }, el("table", { id, class: "data locations-table" })));
    fillTable(id, [
      { h: "col.arrived", cell: (v) => fmtTime(v.arrived_at_ms) },
      { h: "col.kind", cell: (v) => t("locations.kind." + v.kind), cls: (v) => "kind-" + v.kind },
      // a sign-in is at no household
      { h: "col.household", cell: (v) => v.household_id ? shortId(v.household_id) : "—", title: (v) => v.household_id, cls: () => "mono" },
      { h: "col.address", cell: (v) => v.address },
      { h: "col.flags", cell: locationFlags },
      { h: "col.distance", num: true, cls: (v) => v.far ? "bad" : "",
        cell: (v) => v.distance_m === null || v.distance_m === undefined
          ? (v.no_fix ? "—" : t("locations.no_reference")) : t("locations.metres", { n: v.distance_m }) },
      { h: "col.accuracy", num: true, cell: (v) => v.accuracy_m ? "±" + t("locations.metres", { n: v.accuracy_m }) : "—" },
      { h: "col.map", cell: (v) => v.map_link
        ? el("a", { href: v.map_link, target: "_blank", rel: "noopener noreferrer" }, t("locations.amap")) : "—" },
    ], g.visits, { rowKey: (v) => v.visit_id, rowClass: (v) => "location-row kind-" + v.kind + (v.far ? " far" : "") + (v.mock ? " mock" : "") + (v.no_fix ? " no-fix" : "") });
  });
}

// ---- a household's reference position (the household page) -------------------------------------

/// Called by app.js's renderHousehold on every refresh: reads the reference only when another
/// household is opened, so a refresh never clears what is being typed.
function referenceForm(d) {
  const form = document.getElementById("reference-form");
  const role = document.body.dataset.role;
  form.hidden = !d || !(role === "supervisor" || role === "admin");
  if (form.hidden) return;
  if (S.referenceOf === d.household.id) {
    // the words again, in the language now chosen
    if (S.referenceAnswer) showReference(S.referenceAnswer);
    return;
  }
  S.referenceOf = d.household.id;
  S.referenceAnswer = null;
  document.getElementById("reference-result").textContent = "";
  loadReference(d.household.id);
}

function referencePath(id) {
  return "/admin/api/households/" + encodeURIComponent(id) + "/reference-position";
}

async function loadReference(id) {
  const box = document.getElementById("reference-current");
  box.replaceChildren();
  try {
    const answer = await api(referencePath(id));
    if (S.referenceOf !== id) return;
    S.referenceAnswer = answer;
    showReference(answer);
  } catch (e) {
    box.textContent = t("reference.load_failed", { m: e.message });
  }
}

function showReference(answer) {
  const box = document.getElementById("reference-current");
  const r = answer.reference;
  if (!r) {
    box.replaceChildren(t("reference.none"));
    box.dataset.source = "";
    return;
  }
  box.dataset.source = r.source;
  box.replaceChildren(t("reference.current", {
    lat: (r.lat_e6 / 1e6).toFixed(6), lon: (r.lon_e6 / 1e6).toFixed(6),
    source: t("reference." + r.source), by: personName(r.set_by), at: fmtTime(r.set_at_ms),
  }));
  if (answer.map_link) {
    box.append(" ", el("a", { href: answer.map_link, target: "_blank", rel: "noopener noreferrer" }, t("locations.amap")));
  }
}

/// Decimal degrees to micro-degrees; null unless a finite number (the server checks the range).
function microDegrees(text) {
  const s = text.trim();
  if (!/^[+-]?\d{1,3}(\.\d{1,8})?$/.test(s)) return null;
  return Math.round(Number(s) * 1e6);
}

async function submitReference(ev) {
  ev.preventDefault();
  const out = document.getElementById("reference-result");
  const id = S.referenceOf;
  if (!id) return;
  const lat = microDegrees(document.getElementById("reference-lat").value);
  const lon = microDegrees(document.getElementById("reference-lon").value);
  if (lat === null || lon === null) {
    out.className = "bad";
    out.textContent = t("reference.bad_number");
    return;
  }
  try {
    await send(referencePath(id), { lat_e6: lat, lon_e6: lon });
    out.className = "ok";
    out.textContent = t("reference.saved");
    await loadReference(id);
  } catch (e) {
    out.className = "bad";
    out.textContent = t("reference.failed", { m: e.message });
  }
}

registerTab("locations", {
  load: (sig) => api("/admin/api/visit-locations?days=" + S.locationDays + "&" + pageQuery("locations"), sig),
  render: renderLocations,
});

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("reference-form").addEventListener("submit", submitReference);
  for (const b of document.querySelectorAll("#location-days button")) {
    b.addEventListener("click", () => { S.locationDays = Number(b.dataset.days); S.pages.locations = 0; refresh(); });
  }
});

// Gridbook back office, the "走访定位 / visit locations" view (issue 20): visits flagged by where
// they were — far from the household's reference position, a mock location, or no fix — per
// manager and day, with the distance and a link to the fix on AMap (GCJ-02, made by the server),
// a page at a time with the total.
// Loaded after app.js: it registers its tab (registerTab) and adds its words to app.js's tables.
"use strict";

Object.assign(GB_TEXT.zh, {
  "tab.locations": "走访定位",
  "h.locations": "走访定位核查",
  "locations.note": "按经理和日期列出定位异常的走访：距客户参考位置超过 {m} 米（或超过定位精度）、模拟定位、30 秒内无定位。最近 {days} 天，共 {n} 条（偏远 {far}，模拟 {mock}，无定位 {nofix}）。",
  "locations.group": "{manager} · {day} · {n} 条",
  "col.arrived": "到达时间",
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
  "locations.empty": "所选天数内没有定位异常的走访。",
});
Object.assign(GB_TEXT.en, {
  "tab.locations": "Visit locations",
  "h.locations": "Visit location checks",
  "locations.note": "Visits flagged by place, per manager and day: further than {m} m (or the fix's accuracy) from the household's reference position, a mock location, or no fix within 30 s. Last {days} days: {n} (far {far}, mock {mock}, no fix {nofix}).",
  "locations.group": "{manager} · {day} · {n}",
  "col.arrived": "Arrived",
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
  "locations.empty": "No flagged visits in these days.",
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
      { h: "col.household", cell: (v) => shortId(v.household_id), title: (v) => v.household_id, cls: () => "mono" },
      { h: "col.address", cell: (v) => v.address },
      { h: "col.flags", cell: locationFlags },
      { h: "col.distance", num: true, cls: (v) => v.far ? "bad" : "",
        cell: (v) => v.distance_m === null || v.distance_m === undefined
          ? (v.no_fix ? "—" : t("locations.no_reference")) : t("locations.metres", { n: v.distance_m }) },
      { h: "col.accuracy", num: true, cell: (v) => v.accuracy_m ? "±" + t("locations.metres", { n: v.accuracy_m }) : "—" },
      { h: "col.map", cell: (v) => v.map_link
        ? el("a", { href: v.map_link, target: "_blank", rel: "noopener noreferrer" }, t("locations.amap")) : "—" },
    ], g.visits, { rowKey: (v) => v.visit_id, rowClass: (v) => "location-row" + (v.far ? " far" : "") + (v.mock ? " mock" : "") + (v.no_fix ? " no-fix" : "") });
  });
}

registerTab("locations", {
  load: (sig) => api("/admin/api/visit-locations?days=" + S.locationDays + "&" + pageQuery("locations"), sig),
  render: renderLocations,
});

document.addEventListener("DOMContentLoaded", () => {
  for (const b of document.querySelectorAll("#location-days button")) {
    b.addEventListener("click", () => { S.locationDays = Number(b.dataset.days); S.pages.locations = 0; refresh(); });
  }
});

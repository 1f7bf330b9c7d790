// Gridbook back office, photos (issue 20): the photo cell of a household's history (a thumbnail the
// server makes once, opening the full photo, whose view is audited; "照片上传中 / photo on its way"
// or "照片缺失 / photo missing" with the device that owes it), and the "缺失照片 / missing photos"
// tab: photos not here long after their visit or receipt, per device.
// Loaded after app.js: it registers its tab (registerTab) and adds its words to app.js's tables.
"use strict";

Object.assign(GB_TEXT.zh, {
  "tab.photos": "缺失照片",
  "h.photos": "缺失照片（按设备）",
  "photos.note": "走访或收据记录 {h} 小时后仍未上传到服务器的照片，按欠照片的设备列出，共 {n} 张。",
  "photos.more": "只列出前 {n} 张。",
  "photos.device": "设备 {device} · {n} 张",
  "photos.empty": "没有缺失的照片。",
  "col.photos": "照片",
  "col.fact": "记录",
  "col.recorded": "记录时间",
  "col.photo": "照片哈希",
  "photo.on_its_way": "照片上传中",
  "photo.missing": "照片缺失（设备 {device}）",
  "photo.open": "查看原图（将记入审计）",
  "photo.alt": "走访照片",
});
Object.assign(GB_TEXT.en, {
  "tab.photos": "Missing photos",
  "h.photos": "Missing photos by device",
  "photos.note": "Photos not on the server {h} hours after their visit or receipt, by the device that owes them: {n}.",
  "photos.more": "Only the first {n} are listed.",
  "photos.device": "Device {device} · {n}",
  "photos.empty": "No photo is missing.",
  "col.photos": "Photos",
  "col.fact": "Record",
  "col.recorded": "Recorded",
  "col.photo": "Photo hash",
  "photo.on_its_way": "Photo on its way",
  "photo.missing": "Photo missing (device {device})",
  "photo.open": "Open the full photo (audited)",
  "photo.alt": "Visit photo",
});

/// The photos of a history line (a visit's, a receipt's) of a household of `grid`.
function photoCell(x, grid) {
  if (!x.photos || !x.photos.length) return "—";
  const box = el("span", { class: "photos" });
  for (const p of x.photos) {
    const q = "?grid=" + encodeURIComponent(grid);
    if (p.state === "arrived") {
      box.append(el("a", { href: "/admin/api/photos/" + p.sha256 + q, target: "_blank", rel: "noopener noreferrer", class: "photo-link", title: t("photo.open") },
        el("img", { src: "/admin/api/photos/" + p.sha256 + "/thumbnail" + q, class: "photo-thumb", alt: t("photo.alt"), loading: "lazy", "data-sha256": p.sha256 })));
    } else if (p.state === "missing") {
      box.append(badge(t("photo.missing", { device: p.owed_by }), "state-stuck photo-missing"));
    } else {
      box.append(badge(t("photo.on_its_way"), "state-stale photo-pending"));
    }
  }
  return box;
}

function renderMissingPhotos(data) {
  const n = data.devices.reduce((s, d) => s + d.count, 0);
  document.getElementById("photos-note").textContent = t("photos.note", { h: data.missing_after_h, n })
    + (data.more ? " " + t("photos.more", { n }) : "");
  const box = document.getElementById("photos-groups");
  box.replaceChildren();
  if (!data.devices.length) {
    box.append(el("p", { class: "muted", id: "photos-empty" }, t("photos.empty")));
    return;
  }
  data.devices.forEach((d, i) => {
    const id = "photos-table-" + i;
    box.append(el("h3", { class: "photo-device", "data-device": d.device_id }, t("photos.device", { device: d.device_id, n: d.count })));
    box.append(el("div", { class: "table-wrap" }, el("table", { id, class: "data photos-table" })));
    fillTable(id, [
      { h: "col.recorded", cell: (p) => fmtTime(p.recorded_at_ms) },
      { h: "col.fact", cell: (p) => t("history." + p.kind) + " " + shortId(p.fact_id), title: (p) => p.fact_id },
      { h: "col.household", cell: (p) => shortId(p.household_id), title: (p) => p.household_id, cls: () => "mono" },
      { h: "col.photo", cell: (p) => p.sha256.slice(0, 12), title: (p) => p.sha256, cls: () => "mono" },
    ], d.photos, { rowKey: (p) => p.fact_id + "/" + p.sha256 });
  });
}

registerTab("photos", {
  load: (sig) => api("/admin/api/photos/missing", sig),
  render: renderMissingPhotos,
});

// Each visit's photos in the back office (issue 20) in headless Chromium, on a server of its own
// where a real phone (gridbook-fieldsim --photo-day) recorded a visit with two photos and sent one:
// the household page shows the sent one as a thumbnail the server made, opening the full photo,
// and the other as "照片上传中 / photo on its way". Run by scripts/test-browser.sh.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this through scripts/test-browser.sh`);
  return v;
};
const SERVER = env("GB_SERVER");
const FIELDSIM = env("GB_FIELDSIM");
const SHOTS = env("GB_SCREENSHOTS");
const require = createRequire(import.meta.url);
const { chromium } = require(path.join(env("PLAYWRIGHT_CORE_DIR"), "playwright-core"));

const PASSWORD = `Photos-测试-${process.pid}`;
let work;
let server;
let base;
let browser;
let page;
let field;

function admin(db, args, password) {
  execFileSync(SERVER, ["admin", "--db", db, ...args], {
    env: Object.assign({}, process.env, password ? { GRIDBOOK_NEW_PASSWORD: password } : {}),
    stdio: ["ignore", "ignore", "inherit"],
  });
}

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "gb-photos-"));
  const db = path.join(work, "server.db");
  admin(db, ["create-grid", "--id", "g1", "--name", "幸福里网格"]);
  admin(db, ["create-manager", "--id", "zhang", "--name", "张伟", "--role", "field"]);
  admin(db, ["assign-grid", "--manager", "zhang", "--grid", "g1"]);
  admin(db, ["create-manager", "--id", "wangsup", "--name", "王主管", "--role", "supervisor"], PASSWORD);
  admin(db, ["assign-grid", "--manager", "wangsup", "--grid", "g1"]);
  const portFile = path.join(work, "port");
  server = spawn(SERVER, ["serve", "--db", db, "--listen", "127.0.0.1:0", "--port-file", portFile], {
    env: Object.assign({}, process.env, { GRIDBOOK_LOG: "warn" }),
    stdio: ["ignore", "ignore", "inherit"],
  });
  for (let i = 0; i < 300 && !(fs.existsSync(portFile) && fs.readFileSync(portFile, "utf8").trim()); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  base = `http://${fs.readFileSync(portFile, "utf8").trim()}`;
  const out = execFileSync(FIELDSIM, ["--url", base, "--db", db, "--photo-day"], { encoding: "utf8", timeout: 180_000 });
  field = JSON.parse(out.trim().split("\n").pop());

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: "zh-CN", timezoneId: "Asia/Shanghai" });
  page = await context.newPage();
  page.on("request", (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith("data:")) throw new Error(`request to ${r.url()}`);
  });
  await page.goto(`${base}/admin/login`);
  await page.fill("#login-id", "wangsup");
  await page.fill("#login-password", PASSWORD);
  await Promise.all([page.waitForLoadState("load"), page.click("#login-submit")]);
  assert.match(page.url(), /\/admin$/);
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.kill();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test("a visit shows its arrived photo as a thumbnail and the other as on its way", async () => {
  await page.click(`.tabs a[data-view="archive"]`);
  await page.waitForFunction(() => document.body.dataset.loaded === "archive", null, { timeout: 10_000 });
  await page.fill("#archive-q", field.customer_name);
  await page.click("#archive-submit");
  const row = page.locator(`#households-table tr[data-key="${field.household_id}"]`);
  await row.waitFor();
  await row.locator("a.household-link").click();
  await page.locator("#household-detail:not([hidden])").waitFor();

  const visit = page.locator(`#household-history tr[data-key="visit/${field.visit_id}"]`);
  await visit.waitFor();
  const thumb = visit.locator(`img.photo-thumb[data-sha256="${field.arrived_photo}"]`);
  await thumb.waitFor();
  // the image really loaded: the server made a thumbnail of the photo (at most 240 px)
  await page.waitForFunction((sha) => {
    const img = document.querySelector(`img.photo-thumb[data-sha256="${sha}"]`);
    return img && img.complete && img.naturalWidth > 0;
  }, field.arrived_photo, { timeout: 10_000 });
  const size = await thumb.evaluate((img) => [img.naturalWidth, img.naturalHeight]);
  assert.deepEqual(size, [240, 180]);
  const link = await visit.locator("a.photo-link").getAttribute("href");
  assert.equal(link, `/admin/api/photos/${field.arrived_photo}?grid=g1`);
  const pending = visit.locator(".photo-pending");
  assert.equal(await pending.count(), 1, "one photo not yet on the server");
  assert.equal((await pending.textContent()).trim(), "照片上传中");
  assert.equal(await visit.locator(".photo-missing").count(), 0, "not missing within a day");
  await fs.promises.mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, "40-household-photos.png"), fullPage: true });

  // the full view opens the photo itself (audited on the server)
  const full = await page.request.get(`${base}${link}`);
  assert.equal(full.status(), 200);
  assert.equal(full.headers()["content-type"], "image/jpeg");

  // nothing is missing yet on the device list
  await page.click(`.tabs a[data-view="photos"]`);
  await page.waitForFunction(() => document.body.dataset.loaded === "photos", null, { timeout: 10_000 });
  assert.ok(await page.locator("#photos-empty").isVisible());
});

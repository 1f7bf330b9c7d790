// Each visit's photos in the back office (issue 20) in headless Chromium, on a server of its own
// where a real phone (gridbook-fieldsim --photo-day) recorded a visit with two photos and sent one:
// the household page shows the sent one as a thumbnail the server made, opening the full photo,
// and the other as "照片上传中 / photo on its way". Run by scripts/test-browser.sh.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { admin, fieldDay, launch, loggedIn, newContext, shot, startServer, workDir } from "./kit.mjs";

const PASSWORD = `Photos-测试-${process.pid}`;
let work;
let server;
let base;
let browser;
let page;
let field;

before(async () => {
  work = workDir("gb-photos-");
  admin(work.db, ["create-grid", "--id", "g1", "--name", "幸福里网格"]);
  admin(work.db, ["create-manager", "--id", "zhang", "--name", "张伟", "--role", "field"]);
  admin(work.db, ["assign-grid", "--manager", "zhang", "--grid", "g1"]);
  admin(work.db, ["create-manager", "--id", "wangsup", "--name", "王主管", "--role", "supervisor"], PASSWORD);
  admin(work.db, ["assign-grid", "--manager", "wangsup", "--grid", "g1"]);
  ({ server, base } = await startServer(work));
  field = fieldDay(base, work.db, ["--photo-day"]);
  browser = await launch();
  page = await loggedIn(await newContext(browser), base, "wangsup", PASSWORD);
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.kill();
  if (work) fs.rmSync(work.dir, { recursive: true, force: true });
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
  await shot(page, "40-household-photos.png");

  // the full view opens the photo itself (audited on the server)
  const full = await page.request.get(`${base}${link}`);
  assert.equal(full.status(), 200);
  assert.equal(full.headers()["content-type"], "image/jpeg");

  // nothing is missing yet on the device list
  await page.click(`.tabs a[data-view="photos"]`);
  await page.waitForFunction(() => document.body.dataset.loaded === "photos", null, { timeout: 10_000 });
  assert.ok(await page.locator("#photos-empty").isVisible());
});

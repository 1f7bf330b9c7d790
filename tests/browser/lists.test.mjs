// The dashboard's lists that grow, paged by the server with the total shown (issue 18), in
// headless Chromium on a server of their own: the day real phones synced (gridbook-fieldsim) and,
// written beside it in known numbers, 25 older receipts of g1 and 35 newer ones of g2, and 12 tier
// recomputations by the server in g1. The supervisor watches g1 only: their money tab shows
// exactly g1's 27 receipts, a page at a time, however many newer ones g2 holds (the tab used to
// read the newest N and then cut them to the supervisor's grids). Run by scripts/test-browser.sh.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { admin, fieldDay, launch, loggedIn, newContext, shot, sqlite, startServer, workDir } from "./kit.mjs";

const PASSWORD = `Lists-测试-${process.pid}`;
/// Rows to a page in these tests (`?rows=`), so that a few dozen rows make pages.
const ROWS = 10;
let work;
let server;
let base;
let browser;
let sup;
let root;

before(async () => {
  work = workDir("gb-lists-");
  const db = work.db;
  admin(db, ["create-grid", "--id", "g1", "--name", "幸福里网格"]);
  admin(db, ["create-grid", "--id", "g2", "--name", "人民路网格"]);
  admin(db, ["create-manager", "--id", "zhang", "--name", "张伟", "--role", "field"]);
  admin(db, ["create-manager", "--id", "li", "--name", "李娜", "--role", "field"]);
  admin(db, ["create-manager", "--id", "wang", "--name", "王强", "--role", "field"]);
  admin(db, ["assign-grid", "--manager", "zhang", "--grid", "g1"]);
  admin(db, ["assign-grid", "--manager", "li", "--grid", "g1"]);
  admin(db, ["assign-grid", "--manager", "wang", "--grid", "g2"]);
  admin(db, ["create-manager", "--id", "wangsup", "--name", "王主管", "--role", "supervisor"], PASSWORD);
  admin(db, ["assign-grid", "--manager", "wangsup", "--grid", "g1"]);
  admin(db, ["create-manager", "--id", "root", "--name", "系统管理员", "--role", "admin"], PASSWORD);
  ({ server, base } = await startServer(work));
  fieldDay(base, db);
  // g1's 25 are older than anything the phones sent today, g2's 35 newer: a first page of the
  // newest receipts holds none of g1's
  const now = Date.now();
  sqlite(db, `
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 59)
    INSERT INTO entities (kind, id, grid_id, vals, base_hlc, clocks, updated_at_ms)
    SELECT 'receipt', printf('seed-r%02d', i), CASE WHEN i < 25 THEN 'g1' ELSE 'g2' END,
           json_object('grid_id', CASE WHEN i < 25 THEN 'g1' ELSE 'g2' END, 'receipt_no', printf('SEED-%02d', i),
                       'account_id', 'seed-account', 'household_id', 'seed-household', 'owed_before_fen', 1000,
                       'amount_fen', 1000, 'cash_received_fen', 1000, 'change_fen', 0, 'method', 'cash',
                       'collected_at_ms', CASE WHEN i < 25 THEN ${now - 30 * 86_400_000} + i * 60000 ELSE ${now + 3_600_000} + i * 60000 END,
                       'zone_offset_min', 480, 'collector_id', CASE WHEN i < 25 THEN 'zhang' ELSE 'wang' END,
                       'device_id', 'seeded'),
           NULL, '{}', ${now}
    FROM n;
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 11)
    INSERT INTO conflicts (at_ms, kind, entity_id, grid_id, field, old_value, new_value, old_hlc, new_hlc, old_device, new_device)
    SELECT ${now} + i, 'household', printf('seed-h%02d', i), 'g1', 'tier', 'low', 'high', 'x', 'y', 'backoffice', 'backoffice'
    FROM n;`);
  browser = await launch();
  sup = await loggedIn(await newContext(browser), base, "wangsup", PASSWORD);
  root = await loggedIn(await newContext(browser), base, "root", PASSWORD);
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.kill();
  if (work) fs.rmSync(work.dir, { recursive: true, force: true });
});

/// Opens `view` on `page`, `ROWS` to a page of each list the server pages.
async function openTab(page, view) {
  await page.goto(`${base}/admin?rows=${ROWS}#${view}`);
  await page.waitForFunction((v) => document.body.dataset.loaded === v, view, { timeout: 15_000 });
}

const bar = (page, table) => page.locator(`.list-pager[data-for="${table}"]`);
const api = (page, path) => page.evaluate(async (p) => (await fetch(p)).json(), path);

test("a supervisor's money tab shows exactly their grid's 27 receipts, a page at a time with the total", async () => {
  // the answer itself: the scope is in the query, so the first 20 are all g1's
  const first = await api(sup, "/admin/api/money?limit=20");
  assert.equal(first.receipts_page.total, 27, "25 seeded + the 2 zhang's phone synced");
  assert.equal(first.receipts.length, 20);
  assert.ok(first.receipts.every((r) => r.grid_id === "g1"), JSON.stringify(first.receipts.map((r) => r.grid_id)));
  assert.equal((await api(root, "/admin/api/money?limit=1")).receipts_page.total, 62, "the admin sees both grids");

  await openTab(sup, "money");
  const pager = bar(sup, "receipts-table");
  const rows = sup.locator("#receipts-table tbody tr");
  assert.match(await pager.textContent(), /第 1–10 条，共 27 条/);
  assert.equal(await rows.count(), ROWS);
  assert.equal(await pager.locator(".page-prev").isDisabled(), true);
  await shot(sup, "30-lists-money-page-1.png");
  for (const to of ["第 11–20 条", "第 21–27 条"]) {
    await pager.locator(".page-next").click();
    await sup.waitForFunction(
      (t) => document.querySelector('.list-pager[data-for="receipts-table"]')?.textContent.includes(t) && document.body.dataset.loaded === "money",
      to,
    );
  }
  assert.match(await pager.textContent(), /共 27 条/);
  assert.equal(await pager.locator(".page-next").isDisabled(), true, "the last page");
  // newest first: the last page is g1's seven oldest
  const keys = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-key")));
  assert.deepEqual(keys, ["SEED-06", "SEED-05", "SEED-04", "SEED-03", "SEED-02", "SEED-01", "SEED-00"]);
  const text = await sup.locator("#receipts-table").textContent();
  assert.match(text, /幸福里网格/);
  assert.doesNotMatch(text, /人民路网格/, "none of g2's");
  await shot(sup, "31-lists-money-page-3.png");
});

test("voids, both sides of the conflict log, day summaries and handovers page with their totals", async () => {
  await openTab(sup, "money");
  const voids = await api(sup, "/admin/api/money?voids_limit=1000");
  assert.ok(voids.voids_page.total >= 1, "zhang's void waits");
  assert.match(await bar(sup, "voids-table").textContent(), new RegExp(`共 ${voids.voids_page.total} 条`));

  await openTab(sup, "conflicts");
  const people = await api(sup, "/admin/api/conflicts?side=people&limit=1");
  assert.ok(people.total >= 1, "li overwrote zhang's edit");
  assert.match(await bar(sup, "conflicts-table").textContent(), new RegExp(`共 ${people.total} 条`));
  assert.match(await sup.textContent("#conflicts-count"), new RegExp(`${people.total}.*12`));
  const recompute = bar(sup, "recompute-table");
  assert.match(await recompute.textContent(), /第 1–10 条，共 12 条/, "the server's 12 recomputations, apart");
  assert.doesNotMatch(await sup.locator("#conflicts-table").textContent(), /seed-h/);
  await recompute.locator(".page-next").click();
  await sup.waitForFunction(() => /第 11–12 条，共 12 条/.test(document.querySelector('.list-pager[data-for="recompute-table"]')?.textContent || ""));
  await shot(sup, "32-lists-conflicts-paged.png");

  await openTab(sup, "summaries");
  const days = await api(sup, "/admin/api/day-summaries?limit=1&computed_limit=1");
  assert.ok(days.summaries_page.total >= 1, "zhang's day summary");
  assert.match(await bar(sup, "summaries-table").textContent(), new RegExp(`共 ${days.summaries_page.total} 条`));
  assert.match(await bar(sup, "computed-table").textContent(), new RegExp(`共 ${days.computed_page.total} 条`));

  await openTab(sup, "handovers");
  assert.match(await bar(sup, "handovers-table").textContent(), /共 0 条/);
  await shot(sup, "33-lists-handovers-paged.png");
});

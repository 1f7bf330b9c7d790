// A province's phones in the back office (issue 18), in headless Chromium on a server of their
// own: 1,005 phones of g1 written straight into the devices table in mixed states (zhang's 1,004,
// then zhao's one, last and not revoked), and wang's 3 in g2. The supervisor watches g1 only. The sync-health
// tab pages all of g1's 1,005 with the total and filters by state on the server; the wipe tab
// shows an open wipe on a phone past the first thousand; the versions tab counts every phone;
// the money page's manager picker lists zhao, whose only phone is past the first thousand; the
// administration page pages the devices with their total. Run by scripts/test-browser.sh.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { admin, launch, loggedIn, newContext, shot, sqlite, startServer, workDir } from "./kit.mjs";

const PASSWORD = `Devices-测试-${process.pid}`;
const ROWS = 10;
/// The state seeded phone `i` is in, in turn; every eleventh is short of space.
const STATES = ["ok", "stuck", "stale", "never_synced", "revoked"];
const G1 = 1005;
const of = (state) => Array.from({ length: G1 }, (_, i) => i).filter((i) => STATES[i % 5] === state).length;
let work;
let server;
let base;
let browser;
let sup;
let root;

before(async () => {
  work = workDir("gb-devices-");
  const db = work.db;
  admin(db, ["create-grid", "--id", "g1", "--name", "幸福里网格"]);
  admin(db, ["create-grid", "--id", "g2", "--name", "人民路网格"]);
  admin(db, ["create-manager", "--id", "zhang", "--name", "张伟", "--role", "field"]);
  admin(db, ["create-manager", "--id", "zhao", "--name", "赵敏", "--role", "field"]);
  admin(db, ["create-manager", "--id", "wang", "--name", "王强", "--role", "field"]);
  admin(db, ["assign-grid", "--manager", "zhang", "--grid", "g1"]);
  admin(db, ["assign-grid", "--manager", "zhao", "--grid", "g1"]);
  admin(db, ["assign-grid", "--manager", "wang", "--grid", "g2"]);
  admin(db, ["create-manager", "--id", "wangsup", "--name", "王主管", "--role", "supervisor"], PASSWORD);
  admin(db, ["assign-grid", "--manager", "wangsup", "--grid", "g1"]);
  admin(db, ["create-manager", "--id", "root", "--name", "系统管理员", "--role", "admin"], PASSWORD);
  const now = Date.now();
  // d1003 (zhang's, never synced) has an open wipe; d0001's is done; zz-zhao is zhao's only phone
  sqlite(db, `
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${G1 - 1})
    INSERT INTO devices (id, manager_id, token_hash, app_version, enrolled_at_ms, revoked_at_ms, last_push_ms,
                         pending_count, oldest_pending_age_s, free_storage_bytes)
    SELECT CASE WHEN i = ${G1 - 1} THEN 'zz-zhao' ELSE printf('d%04d', i) END,
           CASE WHEN i = ${G1 - 1} THEN 'zhao' ELSE 'zhang' END, 'seeded-' || i, '2.1.0', ${now},
           CASE WHEN i % 5 = 4 AND i < ${G1 - 1} THEN ${now} END,
           CASE i % 5 WHEN 2 THEN ${now - 2 * 86_400_000} WHEN 3 THEN NULL ELSE ${now} END,
           CASE i % 5 WHEN 1 THEN 2 ELSE 0 END, CASE i % 5 WHEN 1 THEN 10800 END,
           CASE WHEN i % 11 = 0 THEN 1024 END
    FROM n;
    INSERT INTO devices (id, manager_id, token_hash, app_version, enrolled_at_ms)
    VALUES ('w1', 'wang', 'seeded-w1', '2.1.0', ${now}), ('w2', 'wang', 'seeded-w2', '2.1.0', ${now}),
           ('w3', 'wang', 'seeded-w3', '2.1.0', ${now});
    INSERT INTO device_wipes (device_id, mode, ordered_at_ms, ordered_by, told_at_ms, wiped_at_ms)
    VALUES ('d0001', 'retire', ${now - 86_400_000}, 'root', ${now - 86_400_000}, ${now - 86_400_000}),
           ('d1003', 'lost', ${now}, 'root', NULL, NULL);`);
  ({ server, base } = await startServer(work));
  browser = await launch();
  sup = await loggedIn(await newContext(browser), base, "wangsup", PASSWORD);
  root = await loggedIn(await newContext(browser), base, "root", PASSWORD);
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.kill();
  if (work) fs.rmSync(work.dir, { recursive: true, force: true });
});

async function openTab(page, view) {
  await page.goto(`${base}/admin?rows=${ROWS}#${view}`);
  await page.waitForFunction((v) => document.body.dataset.loaded === v, view, { timeout: 15_000 });
}

const bar = (page, table) => page.locator(`.list-pager[data-for="${table}"]`);
const barShows = (page, table, text) =>
  page.waitForFunction(([t, x]) => (document.querySelector(`.list-pager[data-for="${t}"]`)?.textContent || "").includes(x), [table, text]);

test("the sync-health tab pages all 1,005 of the supervisor's phones with the total, most urgent first, filtered by state", async () => {
  await openTab(sup, "devices");
  const rows = sup.locator("#devices-table tbody tr");
  assert.match(await bar(sup, "devices-table").textContent(), new RegExp(`第 1–10 条，共 ${G1} 条`));
  assert.equal(await rows.count(), ROWS);
  // the server's order: stuck phones first
  const classes = await rows.evaluateAll((trs) => trs.map((tr) => tr.className));
  assert.ok(classes.every((c) => c.includes("dev-stuck")), classes.join(" "));
  assert.doesNotMatch(await sup.locator("#devices-table").textContent(), /王强/, "none of g2's");
  await shot(sup, "40-devices-page-1.png");
  await bar(sup, "devices-table").locator(".page-next").click();
  await barShows(sup, "devices-table", `第 11–20 条，共 ${G1} 条`);

  // a state, applied before paging: every never-synced phone of g1, from the first of them
  await sup.selectOption("#devices-state", "never_synced");
  await barShows(sup, "devices-table", `第 1–10 条，共 ${of("never_synced")} 条`);
  const states = await rows.evaluateAll((trs) => trs.map((tr) => tr.className));
  assert.ok(states.every((c) => c.includes("dev-never_synced")), states.join(" "));
  await shot(sup, "41-devices-never-synced.png");
  // and a grid the supervisor may see
  await sup.selectOption("#devices-state", "");
  await sup.selectOption("#devices-grid", "g1");
  await barShows(sup, "devices-table", `第 1–10 条，共 ${G1} 条`);
});

test("the wipe tab shows the open wipe on a phone past the first thousand, and the versions tab counts every phone", async () => {
  await openTab(sup, "wipes");
  const open = sup.locator('#wipes-table tr[data-key="d1003"]');
  await open.waitFor();
  assert.match(await open.textContent(), /张伟/);
  assert.equal(await open.locator("button.wipe-cancel").count(), 1, "an order not yet told can be cancelled");
  assert.match(await bar(sup, "wipes-table").textContent(), /共 2 条/);
  const choices = await sup.locator("#wipe-device option").evaluateAll((os) => os.map((o) => o.value));
  assert.ok(choices.includes("zz-zhao"), "zhao's phone, the last, can be ordered wiped");
  assert.ok(!choices.includes("d0001") && !choices.includes("d0004"), "not a wiped or a revoked phone");
  await shot(sup, "42-devices-wipes.png");

  await openTab(sup, "versions");
  const low = Array.from({ length: G1 }, (_, i) => i).filter((i) => i % 11 === 0 && i % 5 !== 4).length;
  assert.match(await sup.locator('#versions-spread-table tr[data-key="spread.low_storage"]').textContent(), new RegExp(`${low}$`));
});

test("the money page's picker lists zhao, whose only phone is past the first thousand; administration pages the devices", async () => {
  await sup.goto(`${base}/admin/money`);
  await sup.waitForFunction(() => [...document.querySelectorAll("#collector option")].some((o) => o.value === "zhao"));
  const collectors = await sup.locator("#collector option").evaluateAll((os) => os.map((o) => o.value));
  assert.deepEqual(collectors.sort(), ["", "zhang", "zhao"], "g1's managers, not wang");
  const handIn = await sup.locator("#hand-in-manager option").evaluateAll((os) => os.map((o) => o.textContent));
  assert.ok(handIn.some((t) => t.includes("赵敏")), handIn.join(","));

  await root.goto(`${base}/admin/administration`);
  await root.waitForFunction(() => document.body.dataset.loaded === "administration");
  assert.match(await root.textContent("#dev-total"), new RegExp(`共 ${G1 + 3} 条，第 1–50 条`));
  assert.equal(await root.locator("#admin-devices tbody tr").count(), 50);
  await root.click("#dev-next");
  await root.waitForFunction(() => /第 51–100 条/.test(document.getElementById("dev-total").textContent));
  await shot(root, "43-devices-administration.png");
});

// The administration page (/admin/administration, issue 18) in headless Chromium on a server of
// its own (its own database: the grids it creates and assigns leave the other suites' figures
// alone): an admin creates a grid, renames it, assigns it to a supervisor who had none, hands a
// building over chosen from the lists (no id typed), loads a billing file, sets a manager's staff
// number (工号) for the receipts, and finds each change
// in the audit trail filtered by action and day; the supervisor, who saw "no grid assigned yet",
// then sees the grid. Run by scripts/test-browser.sh.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { admin as cli, launch, loggedIn, newContext, shot, startServer, workDir } from "./kit.mjs";

const PASSWORD = `Admin-测试-${process.pid}`;
// one building (7号楼) with two households in g1, for the building handover
const SHEET = ["楼宇,单元,房号,客户名称,手机", "7号楼,1,101,陈静,13812340001", "7号楼,1,102,周涛,13812340002"].join("\r\n");
let work;
let server;
let base;
let browser;
let admin;
let sup;

/// A page logged in as `id` that answers the page's prompts (a grid's new name).
async function login(context, id) {
  const p = await loggedIn(context, base, id, PASSWORD);
  p.on("dialog", (d) => d.accept(d.type() === "prompt" ? "幸福新村网格" : undefined));
  return p;
}

before(async () => {
  work = workDir("gb-admin-");
  const db = work.db;
  cli(db, ["create-grid", "--id", "g1", "--name", "幸福里网格"]);
  cli(db, ["create-manager", "--id", "zhang", "--name", "张伟", "--role", "field"]);
  cli(db, ["create-manager", "--id", "li", "--name", "李娜", "--role", "field"]);
  cli(db, ["assign-grid", "--manager", "zhang", "--grid", "g1"]);
  cli(db, ["create-manager", "--id", "wangsup", "--name", "王主管", "--role", "supervisor"], PASSWORD);
  cli(db, ["create-manager", "--id", "root", "--name", "系统管理员", "--role", "admin"], PASSWORD);
  const sheet = path.join(work.dir, "archives.csv");
  fs.writeFileSync(sheet, SHEET);
  cli(db, ["import-archives", "--grid", "g1", "--file", sheet]);
  ({ server, base } = await startServer(work));
  browser = await launch();
  admin = await login(await newContext(browser), "root");
  sup = await login(await newContext(browser), "wangsup");
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.kill();
  if (work) fs.rmSync(work.dir, { recursive: true, force: true });
});

test("a supervisor with no grid assigned sees none, and is told so", async () => {
  await sup.goto(`${base}/admin#home`);
  await sup.waitForFunction(() => document.body.dataset.loaded === "home");
  assert.match(await sup.textContent("#home-note"), /尚未分配网格/);
  const names = await sup.evaluate(() => fetch("/admin/api/names").then((r) => r.json()));
  assert.deepEqual(names.grids, {});
  await sup.goto(`${base}/admin/administration`);
  await sup.waitForFunction(() => document.body.dataset.loaded === "administration");
  assert.equal(await sup.isDisabled("#grid-submit"), true, "a supervisor changes nothing here");
  assert.equal(await sup.isDisabled("#assign-add"), true);
});

test("an admin creates a grid, renames it and assigns it from the lists", async () => {
  await admin.goto(`${base}/admin/administration`);
  await admin.waitForFunction(() => document.body.dataset.loaded === "administration");
  await admin.fill("#grid-id", "g9");
  await admin.fill("#grid-name", "东风路网格");
  await admin.click("#grid-submit");
  await admin.locator("#grid-result.ok").waitFor();
  await admin.locator('#grids-table tr[data-grid="g9"]').waitFor();
  // renamed through the prompt (answered by the dialog handler)
  await admin.click('#grids-table tr[data-grid="g9"] button.rename');
  await admin.waitForFunction(() => /幸福新村网格/.test(document.querySelector('#grids-table tr[data-grid="g9"]').textContent));

  // the pickers are the server's lists: people by name, grids by name
  const people = await admin.$$eval("#assign-person option", (os) => os.map((o) => o.textContent));
  assert.ok(people.some((p) => p.startsWith("王主管")) && !people.some((p) => p.startsWith("系统管理员")), people.join());
  await admin.selectOption("#assign-person", "wangsup");
  await admin.selectOption("#assign-grid", { label: "幸福里网格" });
  await admin.click("#assign-add");
  await admin.locator("#assign-result.ok").waitFor();
  await admin.waitForFunction(() => /王主管/.test(document.querySelector('#grids-table tr[data-grid="g1"]').textContent));
  assert.match(await admin.textContent('#people-table tr[data-person="wangsup"]'), /幸福里网格/);
  await shot(admin, "30-administration-grids.png");

  // the supervisor now sees g1
  await sup.goto(`${base}/admin#home`);
  await sup.waitForFunction(() => document.body.dataset.loaded === "home");
  assert.doesNotMatch(await sup.textContent("#home-note"), /尚未分配网格/);
  const names = await sup.evaluate(() => fetch("/admin/api/names").then((r) => r.json()));
  assert.deepEqual(names.grids, { g1: "幸福里网格" });
});

test("an admin hands a building over chosen from the lists and loads a billing file", async () => {
  await admin.goto(`${base}/admin/administration`);
  await admin.waitForFunction(() => document.body.dataset.loaded === "administration");
  // li takes g9 first, so that the building has somewhere to go
  await admin.selectOption("#assign-person", "li");
  await admin.selectOption("#assign-grid", "g9");
  await admin.click("#assign-add");
  await admin.locator("#assign-result.ok").waitFor();

  await admin.selectOption("#ho-scope", "building");
  await admin.selectOption("#ho-grid", "g1");
  await admin.waitForFunction(() => document.querySelectorAll("#ho-building option").length > 0);
  assert.match(await admin.textContent("#ho-building"), /7号楼/);
  await admin.selectOption("#ho-to", "li");
  await admin.waitForFunction(() => [...document.querySelectorAll("#ho-to-grid option")].some((o) => o.value === "g9"));
  await admin.selectOption("#ho-to-grid", "g9");
  await admin.click("#ho-submit");
  await admin.locator("#ho-result.ok").waitFor();
  assert.match(await admin.textContent("#ho-result"), /已交接，共 \d+ 条记录/);
  await admin.locator("#ho-table tbody tr").first().waitFor();

  // a billing file with one bad line is refused and names the line; a good one is loaded
  const household = await admin.evaluate(async () => {
    const d = await fetch("/admin/api/households?grid=g9").then((r) => r.json());
    return d.rows[0].id;
  });
  const line = (spend) => JSON.stringify({ grid_id: "g9", household_id: household, service_number: "13812340001",
    product: "mobile", contract_end: "2027-01-10", period: "2026-11", spend_fen: spend, baseline_fen: 10000 });
  await admin.setInputFiles("#billing-file", { name: "bad.jsonl", mimeType: "application/json", buffer: Buffer.from(line(9000) + "\n{oops\n") });
  await admin.click("#billing-submit");
  await admin.locator("#billing-result.bad").waitFor();
  assert.match(await admin.textContent("#billing-result"), /未载入.*line 2/);
  await admin.setInputFiles("#billing-file", { name: "billing.jsonl", mimeType: "application/json", buffer: Buffer.from(line(9000) + "\n") });
  await admin.click("#billing-submit");
  await admin.waitForFunction(() => /已载入/.test(document.querySelector("#billing-result").textContent));
  assert.match(await admin.textContent("#billing-result"), /收到 1 条.*写入 1/);
  assert.equal(await admin.isVisible("#billing-table"), true);
  await shot(admin, "31-administration-handover-billing.png");
});

test("an admin sets a manager's staff number (工号), which the receipts print; a supervisor may not", async () => {
  await admin.goto(`${base}/admin/administration`);
  await admin.waitForFunction(() => document.body.dataset.loaded === "administration");
  const managers = await admin.$$eval("#staff-no-person option", (os) => os.map((o) => o.textContent));
  assert.deepEqual(managers.sort(), ["张伟", "李娜"].sort(), "field managers only, by name");
  await admin.selectOption("#staff-no-person", "zhang");
  // not a staff number: refused with the rule, nothing changes
  await admin.fill("#staff-no", "HN 0731");
  await admin.click("#staff-no-submit");
  await admin.locator("#staff-no-result.bad").waitFor();
  assert.match(await admin.textContent("#staff-no-result"), /未保存.*32/);
  await admin.fill("#staff-no", "HN0731");
  await admin.click("#staff-no-submit");
  await admin.locator("#staff-no-result.ok").waitFor();
  await admin.waitForFunction(() => /HN0731/.test(document.querySelector('#people-table tr[data-person="zhang"]').textContent));
  assert.match(await admin.textContent("#staff-no-result"), /已保存.*张伟.*HN0731/);
  // the form shows the number held when the manager is chosen again
  await admin.selectOption("#staff-no-person", "li");
  assert.equal(await admin.inputValue("#staff-no"), "");
  await admin.selectOption("#staff-no-person", "zhang");
  assert.equal(await admin.inputValue("#staff-no"), "HN0731");
  await shot(admin, "33-administration-staff-no.png");
  // the same call from the supervisor's session is refused (an admin's write)
  const refused = await sup.evaluate(async () => {
    const r = await fetch("/admin/api/admin/people/zhang/staff-no", {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": document.body.dataset.csrf || "" },
      body: JSON.stringify({ staff_no: "X1" }),
    });
    return r.status;
  });
  assert.equal(refused, 403);
});

test("the audit trail shows each change, filtered by action and day, with its total", async () => {
  await admin.goto(`${base}/admin/administration`);
  await admin.waitForFunction(() => document.body.dataset.loaded === "administration");
  assert.match(await admin.textContent("#audit-total"), /共 \d+ 条/);
  const today = new Date().toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" });
  for (const [action, subject] of [["grid_created", "g9"], ["grid_renamed", "g9"], ["grid_assigned", "li"],
    ["handover_building", null], ["billing_loaded", "billing"], ["staff_no_set", "zhang"]]) {
    await admin.fill("#audit-action", action);
    await admin.fill("#audit-from", today);
    await admin.fill("#audit-to", today);
    await admin.click("#audit-submit");
    await admin.waitForFunction((a) => {
      const rows = [...document.querySelectorAll("#audit-table tbody tr")];
      return rows.length > 0 && rows.every((r) => r.children[2].textContent === a);
    }, action);
    if (subject) assert.match(await admin.textContent("#audit-table tbody tr"), new RegExp(subject));
    assert.match(await admin.textContent("#audit-table tbody tr"), /系统管理员/, "the actor by name");
  }
  await shot(admin, "32-administration-audit.png");
});

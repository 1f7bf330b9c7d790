// The back office in headless Chromium against the real server binary, with data that real
// phones (gridbook-fieldsim: real device stores, real HTTP) synced. Run by scripts/test-browser.sh,
// which starts the server and passes its address and paths in the environment.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import readline from "node:readline";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { admin as cli, env, launch, loggedIn, newContext, newPage, shot } from "./kit.mjs";

const URL_BASE = env("GB_URL");
const SUP_ID = env("GB_SUP_ID");
const SUP_PASSWORD = env("GB_SUP_PASSWORD");

let browser;
let page;
let field; // what the phones did

async function login(p, password) {
  await p.goto(`${URL_BASE}/admin?refresh=2`);
  assert.match(p.url(), /\/admin\/login$/, "an anonymous visit goes to the login form");
  await p.fill("#login-id", SUP_ID);
  await p.fill("#login-password", password);
  await Promise.all([p.waitForLoadState("load"), p.click("#login-submit")]);
}

async function openTab(view) {
  await page.click(`.tabs a[data-view="${view}"]`);
  await page.waitForFunction((v) => document.body.dataset.loaded === v, view, { timeout: 10_000 });
}

before(async () => {
  browser = await launch();
  // nothing may be loaded from anywhere but this server
  page = await newPage(await newContext(browser), URL_BASE);
});

after(async () => {
  if (browser) await browser.close();
});

test("the login form is in Chinese and refuses a wrong password", async () => {
  await login(page, "not-the-password");
  assert.match(page.url(), /\/admin\/login$/);
  assert.equal(await page.textContent("h2"), "后台登录");
  const error = page.locator("#login-error");
  await error.waitFor({ state: "visible" });
  assert.equal(await error.textContent(), "账号或密码错误。");
  await shot(page, "01-login-refused.png");
});

test("a supervisor logs in; no device has synced yet", async () => {
  await login(page, SUP_PASSWORD);
  assert.match(page.url(), /\/admin$/);
  // the page refreshes itself every 2 s from here on
  // the home page (the supervisor's day) comes first; sync health is its own tab
  await page.waitForFunction(() => document.body.dataset.loaded === "home");
  assert.equal(await page.locator(".tabs a.on").textContent(), "今日工作");
  await page.goto(`${URL_BASE}/admin?refresh=2#devices`);
  await page.waitForFunction(() => document.body.dataset.loaded === "devices");
  assert.equal(await page.locator("#devices-table tbody tr.empty").count(), 1);
  assert.equal(await page.locator(".tabs a.on").textContent(), "同步状态");
  await shot(page, "02-no-devices.png");
});

test("a device appears on the dashboard after its phone syncs", async () => {
  const out = execFileSync(env("GB_FIELDSIM"), ["--url", URL_BASE, "--db", env("GB_DB")], { encoding: "utf8", timeout: 120_000 });
  field = JSON.parse(out.trim().split("\n").pop());
  // the page refreshes itself every 2 s (?refresh=2): the phones show up without a reload
  const zhang = page.locator(`#devices-table tr[data-key="${field.zhang_device}"]`);
  await zhang.waitFor({ timeout: 15_000 });
  const zhangText = await zhang.textContent();
  assert.match(zhangText, /张伟/);
  assert.match(zhangText, /幸福里网格/, "grids by name, not id");
  assert.match(zhangText, /test-1\.0/);
  assert.match(zhangText, /正常/);
  const li = page.locator(`#devices-table tr[data-key="${field.li_device}"]`);
  const liText = await li.textContent();
  assert.match(liText, /李娜/);
  assert.match(liText, /¥128\.00 \(1\)/, "the receipt still on the phone is reported");
  assert.match(liText, /时钟偏差/, "a phone 10 minutes ahead is flagged");
  assert.match(liText, /快 (9|10) 分钟/);
  // li's phone synced in a loop until the server's request budget stopped it
  assert.ok(field.li_loops_before_429 > 1 && field.li_asked_to_wait_ms > 0, JSON.stringify(field));
  const limited = li.locator(".badge.state-rate_limited");
  assert.equal(await limited.textContent(), "限流");
  assert.match(await limited.getAttribute("title"), /近一小时超出请求配额被拒 [1-9]\d* 次/);
  assert.equal(await page.locator(`#devices-table tr[data-key="${field.zhang_device}"] .badge.state-rate_limited`).count(), 0);
  assert.ok(await li.locator("td.bad").count() >= 1, "money on a phone stands out");
  assert.equal(await page.locator('[data-card="on-phones"].bad').count(), 1);
  // one card for IT on every page: li's skewed clock needs attention
  assert.match(await page.locator('[data-card="attention"].bad .card-value').textContent(), /^[1-9]/);
  await shot(page, "03-devices.png");
});

test("the rejected ops are listed with their reason and what to do", async () => {
  await openTab("rejections");
  const outside = page.locator("#rejections-table tr.rej-outside_grids");
  await outside.waitFor();
  assert.match(await outside.textContent(), /g2.*不属于本人网格.*grid g2 is not assigned/s);
  assert.match(await outside.textContent(), /分配网格/);
  const dup = page.locator("#rejections-table tr.rej-duplicate_receipt_no");
  assert.match(await dup.textContent(), /收据号重复/);
  assert.match(await dup.textContent(), /李娜/);
  assert.match(await dup.textContent(), /钱仍在经理手中/);
  assert.ok((await dup.textContent()).includes(field.receipt_no), "a receipt number is not masked like a phone number");
  await shot(page, "04-rejections.png");
});

test("the receipt, the money still on a phone and the void request are shown", async () => {
  await openTab("money");
  const receipt = page.locator(`#receipts-table tr[data-key="${field.receipt_no}"]`);
  await receipt.waitFor();
  const text = await receipt.textContent();
  assert.match(text, /¥128\.00/);
  assert.match(text, /张伟/);
  assert.match(text, /已验证/, "the customer's signature and the phone's seal were checked");
  const voided = await page.locator(`#receipts-table tr[data-key="${field.voided_receipt_no}"]`).textContent();
  assert.match(voided, /¥50\.00.*待审批/s);
  assert.match(await page.locator("#grid-day-table").textContent(), /¥178\.00 \(2\)/, "both of the day's receipts in g1");
  assert.match(await page.locator("#on-phones-table").textContent(), /李娜.*¥128\.00/s);
  assert.match(await page.locator("#voids-table").textContent(), /金额写错.*待审批/s);
  assert.match(await page.locator("#manager-table").textContent(), /张伟.*¥178\.00/s);
  await shot(page, "05-money.png");
});

test("the home page shows the supervisor's day in the grids assigned to them", async () => {
  await openTab("home");
  const g1 = page.locator('#home-grids-table tr[data-key="g1"]');
  await g1.waitFor();
  const text = await g1.textContent();
  assert.match(text, /幸福里网格/);
  assert.match(text, /¥178\.00 \(2\)/, "today's money in g1 equals the two receipts the phones uploaded");
  assert.equal(await page.locator('#home-grids-table tr[data-key="g2"]').count(), 0, "g2 is not this supervisor's");
  assert.match(await page.locator("#home-managers-table").textContent(), /张伟/);
  assert.ok(await page.locator("#trend-visits svg rect").count() >= 1, "the trend is drawn");
  // the API refuses another supervisor's grid too
  const refused = await page.evaluate(async () => (await fetch("/admin/api/home?grid=g2")).status);
  assert.equal(refused, 404);
  await page.click('#period button[data-period="month"]');
  assert.match(await page.locator('#home-grids-table tr[data-key="g1"]').textContent(), /¥178\.00 \(2\)/);
  await shot(page, "05b-home.png");
});

test("the home page's figures equal what the phones recorded in g1 today", async () => {
  await openTab("home");
  // the period chosen stays chosen across tabs (the test before left it on the month): choose today
  await page.click('#period button[data-period="today"]');
  await page.locator('#period button.on[data-period="today"]').waitFor();
  const heads = await page.locator("#home-grids-table thead th").allTextContents();
  const cells = await page.locator('#home-grids-table tr[data-key="g1"] td').allTextContents();
  const cell = (h) => cells[heads.indexOf(h)];
  assert.equal(cell("收款"), "¥178.00 (2)");
  assert.equal(cell("工单 未结/逾期"), "1 / 1", "one ticket, promised three days ago");
  // zhang's first visit was recorded at the sample's fixed time, not today; of the four placed
  // visits (10–40 minutes ago) those that fall on today's China date count
  const day = (ms) => new Date(ms).toLocaleDateString("en-CA", { timeZone: "Asia/Shanghai" });
  const today = field.located_visits_arrived_ms.filter((ms) => day(ms) === day(Date.now())).length;
  assert.match(cell("走访 / 计划"), new RegExp(`^${today} /`));
  // collected today, none of it handed in yet: a figure, not "not recorded"
  assert.equal(cell("已交款"), "¥0.00");
});

test("the home page counts the reminders open by the phone's own rules, per grid", async () => {
  // billing figures loaded for one of g1's households: spend down by half (stage 1) on one
  // service, a suspension risk on another; the server runs the phone's reminder rules over them
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gb-billing-"));
  const file = path.join(dir, "billing.jsonl");
  const month = new Date().toLocaleDateString("en-CA", { timeZone: "Asia/Shanghai" }).slice(0, 7);
  const line = (service, extra) => JSON.stringify(Object.assign({
    grid_id: "g1", household_id: field.household_id, service_number: service, product: "mobile", period: month,
    spend_fen: 10000, baseline_fen: 10000, as_of_ms: Date.now(),
  }, extra));
  fs.writeFileSync(file, [line("13900000001", { spend_fen: 5000 }), line("13900000002", { suspension_risk: true })].join("\n") + "\n");
  cli(env("GB_DB"), ["load-billing", "--file", file]);
  fs.rmSync(dir, { recursive: true, force: true });
  await openTab("home");
  const home = await page.evaluate(async () => (await fetch("/admin/api/home")).json());
  const g1 = home.grids.find((g) => g.id === "g1");
  assert.equal(g1.standing.reminders_open_by_kind.spend_drop_stage1, 1, JSON.stringify(g1.standing));
  assert.equal(g1.standing.reminders_open_by_kind.suspension_risk, 1);
  // the page shows the server's figures: by kind, in the grid's row and on the card
  const drop = page.locator('#home-reminders-open-table tr[data-key="spend_drop_stage1"]');
  await drop.waitFor({ timeout: 10_000 });
  assert.match(await drop.textContent(), /话务下降一级\s*1/);
  const heads = await page.locator("#home-grids-table thead th").allTextContents();
  const cells = await page.locator('#home-grids-table tr[data-key="g1"] td').allTextContents();
  assert.equal(cells[heads.indexOf("预警待处理")], String(g1.standing.reminders_open));
  const card = await page.locator('[data-card="reminders"] .card-value').textContent();
  assert.equal(card, `${home.total.standing.reminders_open} / ${home.total.periods.today.reminders_closed}`);
  await shot(page, "05c-home-reminders.png");
});

test("a list the server pages shows the total and pages through it", async () => {
  const ctx = await newContext(browser);
  const p = await loggedIn(ctx, URL_BASE, SUP_ID, SUP_PASSWORD);
  // one row to a page (?rows=1), so that the day's few rejections make pages
  await p.goto(`${URL_BASE}/admin?rows=1#rejections`);
  await p.waitForFunction(() => document.body.dataset.loaded === "rejections");
  const all = await p.evaluate(async () => (await fetch("/admin/api/rejections?limit=1000")).json());
  assert.ok(all.total >= 2, `two rejections or more to page through: ${all.total}`);
  const bar = p.locator('.list-pager[data-for="rejections-table"]');
  const rows = p.locator("#rejections-table tbody tr");
  assert.match(await bar.textContent(), new RegExp(`第 1–1 条，共 ${all.total} 条`));
  assert.equal(await rows.count(), 1);
  assert.equal(await rows.first().getAttribute("data-key"), all.rejections[0].op_id);
  assert.equal(await bar.locator(".page-prev").isDisabled(), true);
  await bar.locator(".page-next").click();
  await p.waitForFunction(() => /第 2–2 条/.test(document.querySelector('.list-pager[data-for="rejections-table"]')?.textContent || ""));
  assert.equal(await rows.first().getAttribute("data-key"), all.rejections[1].op_id, "the next page is the next row");
  assert.match(await bar.textContent(), new RegExp(`共 ${all.total} 条`));
  await shot(p, "05g-paged-rejections.png");
  await ctx.close();
});

test("drill down grid → building → household, search, and a household's page", async () => {
  await openTab("archive");
  const grids = await page.locator("#archive-grid option").allTextContents();
  assert.deepEqual(grids, ["幸福里网格"], "only the supervisor's grid is offered");
  const building = page.locator(`#buildings-table tr[data-key="${field.premises_id}"]`);
  await building.waitFor();
  assert.match(await building.textContent(), /3号楼/);
  await building.locator("a.building-link").click();
  await page.waitForFunction(() => /3号楼/.test(document.querySelector("#archive-path")?.textContent || "") && document.body.dataset.loaded === "archive");
  assert.equal(await page.locator("#households-table tbody tr:not(.empty)").count(), 1);
  assert.match(await page.locator("#page-info").textContent(), /共 1 户/);
  // a search by the name, and by the phone's last digits (li's edit won)
  for (const q of [field.customer_name, "4444"]) {
    await page.fill("#archive-q", q);
    await page.click("#archive-submit");
    const row = page.locator(`#households-table tr[data-key="${field.household_id}"]`);
    await row.waitFor();
    assert.doesNotMatch(await row.textContent(), new RegExp(field.customer_name), "the name is masked");
  }
  await page.locator(`#households-table tr[data-key="${field.household_id}"] a.household-link`).click();
  await page.locator("#household-detail:not([hidden])").waitFor();
  const history = await page.locator("#household-history").textContent();
  assert.match(history, /走访/);
  assert.match(history, /收据.*¥128\.00|¥128\.00.*收据/s);
  assert.match(history, /张伟/, "people by name");
  assert.doesNotMatch(await page.locator("#household-detail").textContent(), /13733334444|13812345678/);
  await shot(page, "05e-archive.png");
});

test("a session that ends mid-way returns, after logging in again, to the same tab", async () => {
  const ctx = await newContext(browser);
  const p = await loggedIn(ctx, URL_BASE, SUP_ID, SUP_PASSWORD);
  await p.goto(`${URL_BASE}/admin#money`);
  await p.waitForFunction(() => document.body.dataset.loaded === "money");
  await ctx.clearCookies();
  await Promise.all([p.waitForURL(/\/admin\/login\?why=expired&next=money$/, { timeout: 10_000 }), p.click("#refresh")]);
  assert.equal(await p.locator("#login-error").textContent(), "登录已过期或已在别处退出，请重新登录。");
  await shot(p, "05f-login-expired.png");
  await p.fill("#login-id", SUP_ID);
  await p.fill("#login-password", SUP_PASSWORD);
  await Promise.all([p.waitForURL(/\/admin#money$/), p.click("#login-submit")]);
  await p.waitForFunction(() => document.body.dataset.loaded === "money");
  await ctx.close();
});

test("with JavaScript off the login form still reports a wrong password", async () => {
  const ctx = await browser.newContext({ javaScriptEnabled: false, locale: "zh-CN" });
  const p = await ctx.newPage();
  await p.goto(`${URL_BASE}/admin/login`);
  await p.fill("#login-id", SUP_ID);
  await p.fill("#login-password", "not-the-password");
  await Promise.all([p.waitForLoadState("load"), p.click("#login-submit")]);
  assert.equal(await p.locator("#login-error").isVisible(), true);
  assert.equal(await p.locator("#login-error").textContent(), "账号或密码错误。 / Wrong account or password.");
  await ctx.close();
});

test("tabs clicked quickly: the last one shows its own data and the status line tells the truth", async () => {
  await page.click('.tabs a[data-view="activity"]');
  await page.click('.tabs a[data-view="conflicts"]');
  await page.click('.tabs a[data-view="followups"]');
  await page.waitForFunction(() => document.body.dataset.loaded === "followups", null, { timeout: 10_000 });
  assert.equal(await page.locator("#view-followups").isVisible(), true);
  assert.equal(await page.locator("#view-conflicts").isVisible(), false);
  assert.equal(await page.locator("#view-activity").isVisible(), false);
  assert.match(await page.locator("#followups-table").textContent(), /周五前回复检修时间/);
  assert.match(await page.locator("#status").textContent(), /^更新于/);
  await shot(page, "05c-tab-race.png");
});

test("at 800 px every table keeps its key column in view and no text is under 12 px", async () => {
  await page.setViewportSize({ width: 800, height: 900 });
  try {
    for (const [view, table] of [["home", "home-managers-table"], ["money", "receipts-table"], ["devices", "devices-table"], ["conflicts", "conflicts-table"], ["archive", "households-table"]]) {
      await openTab(view);
      const box = await page.evaluate((id) => {
        const t = document.getElementById(id);
        const wrap = t.closest(".table-wrap");
        wrap.scrollLeft = wrap.scrollWidth;
        const cell = t.querySelector("tbody tr td");
        const r = cell.getBoundingClientRect();
        const w = wrap.getBoundingClientRect();
        return { left: r.left, right: r.right, wrapLeft: w.left, wrapRight: w.right };
      }, table);
      assert.ok(box.left >= box.wrapLeft - 1 && box.right <= box.wrapRight + 1 && box.right <= 800,
        `${table}: the first column stays in view when scrolled (${JSON.stringify(box)})`);
      const small = await page.evaluate((v) => [...document.querySelectorAll(`#view-${v} *, #overview *`)]
        .filter((e) => e.childNodes.length && [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()))
        .filter((e) => e.getClientRects().length && parseFloat(getComputedStyle(e).fontSize) < 12)
        .map((e) => e.tagName + "." + e.className + ": " + e.textContent.slice(0, 20)), view);
      assert.deepEqual(small, [], `${view}: text under 12 px`);
      await shot(page, `05d-${view}-800.png`);
    }
  } finally {
    await page.setViewportSize({ width: 1440, height: 900 });
  }
});

test("the conflict log shows who overwrote what, with phone numbers masked", async () => {
  await openTab("conflicts");
  const table = await page.locator("#conflicts-table").textContent();
  assert.match(table, /手机/);
  assert.match(table, /139\*\*\*\*2222/);
  assert.match(table, /137\*\*\*\*4444/);
  assert.match(table, /张伟/);
  assert.match(table, /李娜/);
  assert.doesNotMatch(table, /13911112222|13733334444|13812345678/);
  assert.doesNotMatch(await page.content(), /13911112222|13733334444/);
  await shot(page, "06-conflicts.png");
});

test("an overdue promised follow-up is listed, the customer masked", async () => {
  await openTab("followups");
  const table = await page.locator("#followups-table").textContent();
  assert.match(table, /周五前回复检修时间/);
  assert.match(table, /3 天/);
  assert.match(table, /投诉处理/);
  assert.doesNotMatch(table, new RegExp(field.customer_name));
  await shot(page, "07-follow-ups.png");
  // the masked name opens the household's page
  await page.locator(`#followups-table a.household-link`).first().click();
  await page.waitForFunction(() => document.body.dataset.loaded === "archive");
  await page.locator("#household-detail:not([hidden])").waitFor();
  assert.match(await page.locator("#household-history").textContent(), /周五前回复检修时间/);
});

test("sync activity is drawn as a chart", async () => {
  await openTab("activity");
  assert.ok(await page.locator("#chart svg rect.bar.push").count() >= 1);
  assert.ok(await page.locator("#chart svg rect.bar.pull").count() >= 1);
  assert.ok(await page.locator("#chart svg circle.dot.rejected").count() >= 1);
  assert.ok(await page.locator("#activity-table tbody tr:not(.empty)").count() >= 1);
  await shot(page, "08-activity.png");
});

test("the whole dashboard switches to English", async () => {
  await page.click("#lang");
  assert.equal(await page.locator(".tabs a.on").textContent(), "Sync activity");
  assert.equal(await page.evaluate(() => document.documentElement.lang), "en");
  await openTab("rejections");
  const table = await page.locator("#rejections-table").textContent();
  assert.match(table, /What to do/);
  assert.match(table, /Duplicate receipt number/);
  await shot(page, "09-rejections-en.png");
  await openTab("devices");
  assert.match(await page.locator("#devices-table").textContent(), /Receipts on phone.*Last successful sync|Last successful sync.*Receipts on phone/s);
  await shot(page, "10-devices-en.png");
  await openTab("money");
  assert.match(await page.locator("#voids-table").textContent(), /awaiting approval/);
  await shot(page, "11-money-en.png");
  // the choice is remembered, and the switch goes back
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.loaded === "money");
  assert.equal(await page.locator(".tabs a.on").textContent(), "Money");
  await page.click("#lang");
  assert.equal(await page.locator(".tabs a.on").textContent(), "收款");
});

test("on a tablet the dashboard fits the screen", async () => {
  const tablet = await browser.newContext({ viewport: { width: 820, height: 1180 }, locale: "zh-CN", timezoneId: "Asia/Shanghai", hasTouch: true });
  const p = await loggedIn(tablet, URL_BASE, SUP_ID, SUP_PASSWORD);
  for (const view of ["home", "devices", "archive"]) {
    if (view !== "home") await p.click(`.tabs a[data-view="${view}"]`);
    await p.waitForFunction((v) => document.body.dataset.loaded === v, view);
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `${view}: the page is ${overflow}px wider than the screen (tables scroll inside their boxes)`);
    await shot(p, `12-tablet-${view}.png`);
  }
  await tablet.close();
});

test("tickets list the broken promise first, with its owner, the customer masked", async () => {
  await openTab("tickets");
  const first = page.locator("#tickets-table tbody tr").first();
  assert.equal(await first.getAttribute("data-key"), field.ticket_id);
  assert.match(await first.getAttribute("class"), /overdue/);
  const text = await first.textContent();
  assert.match(text, /逾期 3 天/);
  assert.match(text, /张伟/);
  assert.match(text, /光猫频繁重启/);
  assert.match(await page.locator("#tickets-note").textContent(), /逾期 1 件/);
  // paged by the server, with the total of all
  assert.match(await page.locator('.list-pager[data-for="tickets-table"]').textContent(), /第 1–1 条，共 1 条/);
  assert.equal(await page.locator('.list-pager[data-for="tickets-table"] .page-next').isDisabled(), true);
  await shot(page, "13-tickets.png");
});

test("the appointment not kept shows as late (or missed after midnight)", async () => {
  await openTab("appointments");
  const row = page.locator(`#appointments-table tr[data-key="${field.appointment_id}"]`);
  await row.waitFor();
  assert.match(await row.getAttribute("class"), /appt-(late|missed)/);
  assert.match(await row.textContent(), /(迟到未上门|爽约).*已预约.*张伟/s);
  await shot(page, "14-appointments.png");
});

test("the day summary a manager submitted is listed per manager and day", async () => {
  await openTab("summaries");
  const table = await page.locator("#summaries-table").textContent();
  assert.match(table, /张伟/);
  assert.match(table, /明天上午回访3号楼/);
  await shot(page, "15-day-summaries.png");
});

test("visits and receipts flagged by place are listed per manager and day, with their kind, the distance and an AMap link", async () => {
  await openTab("locations");
  const group = page.locator('h3.location-group[data-manager="zhang"]').first();
  await group.waitFor();
  assert.match(await group.textContent(), /张伟 · \d{4}-\d{2}-\d{2} · \d 条/);
  assert.match(await page.locator("#locations-note").textContent(), /200 米.*偏远 2，模拟 1，无定位 1/s);
  // the receipt taken 334 m from the door the complaint visit fixed: flagged as a visit would be
  const receipt = page.locator(`tr[data-key="${field.far_receipt_id}"]`);
  assert.match(await receipt.getAttribute("class"), /\bkind-receipt\b.*\bfar\b/);
  assert.match(await receipt.textContent(), /收款.*距离过远.*334 米.*±8 米.*高德地图/s);
  const far = page.locator(`tr[data-key="${field.far_visit_id}"]`);
  assert.match(await far.getAttribute("class"), /\bfar\b/);
  assert.match(await far.textContent(), /走访.*距离过远.*334 米.*±8 米.*高德地图/s);
  // the link carries GCJ-02, as AMap takes it, not the phone's WGS-84 numbers
  const href = await far.locator("a").getAttribute("href");
  assert.match(href, /^https:\/\/uri\.amap\.com\/marker\?position=112\.94\d+,28\.22\d+/);
  assert.doesNotMatch(href, /112\.938000,28\.231000/);
  const mock = page.locator(`tr[data-key="${field.mock_visit_id}"]`);
  assert.match(await mock.textContent(), /模拟定位.*0 米/s);
  const none = page.locator(`tr[data-key="${field.no_fix_visit_id}"]`);
  assert.match(await none.textContent(), /无定位/);
  assert.equal(await page.locator(".location-row").count(), 4, "the good fixes and the facts without a position are not flagged");
  await shot(page, "15b-visit-locations.png");
  await page.click("#lang");
  assert.match(await far.textContent(), /Too far.*334 m/s);
  assert.match(await receipt.textContent(), /Receipt.*Too far.*334 m/s);
  assert.match(await none.textContent(), /No fix/);
  await shot(page, "15c-visit-locations-en.png");
  await page.click("#lang");
  assert.equal(await page.locator(".tabs a.on").textContent(), "走访定位");
});

test("a supervisor corrects a household's reference position from its page, audited", async () => {
  await openTab("archive");
  await page.evaluate((id) => archiveGo({ household: { grid: "g1", id } }), field.located_household_id);
  const current = page.locator("#reference-current");
  await page.waitForFunction(() => document.querySelector("#reference-current")?.dataset.source === "first_fix");
  // the first good fix of the visits there: 40 minutes ago at the door
  assert.match(await current.textContent(), /参考位置：28\.228000, 112\.938000（首次定位 · 张伟 · /);
  assert.match(await current.locator("a").getAttribute("href"), /^https:\/\/uri\.amap\.com\/marker\?position=112\.94/);
  await page.fill("#reference-lat", "28,231");
  await page.fill("#reference-lon", "112.938");
  await page.click("#reference-submit");
  assert.equal(await page.locator("#reference-result").textContent(), "请输入十进制度数，例如 28.228000 和 112.938000。");
  await page.fill("#reference-lat", "28.231");
  await page.click("#reference-submit");
  await page.waitForFunction(() => document.querySelector("#reference-current")?.dataset.source === "back_office");
  assert.match(await page.locator("#reference-result").textContent(), /已保存，已记入审计日志/);
  assert.match(await current.textContent(), /参考位置：28\.231000, 112\.938000（后台设置 · 王主管 · /);
  // the page's refresh (every 2 s) keeps what is typed and what was read
  await page.fill("#reference-lat", "28.2");
  const seq = await page.evaluate(() => S.seq);
  await page.waitForFunction((n) => S.seq > n && !S.inflight && document.body.dataset.loaded === "archive", seq);
  assert.equal(await page.inputValue("#reference-lat"), "28.2");
  assert.match(await current.textContent(), /后台设置/);
  // stored for the server's checks, by whom, and audited
  const stored = await page.evaluate(async (id) => (await fetch(`/admin/api/households/${id}/reference-position`)).json(), field.located_household_id);
  assert.deepEqual([stored.reference.lat_e6, stored.reference.source, stored.reference.set_by], [28_231_000, "back_office", "wangsup"]);
  // without the session's CSRF token the same change is refused
  const status = await page.evaluate(async (id) => (await fetch(`/admin/api/households/${id}/reference-position`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ lat_e6: 1, lon_e6: 1 }),
  })).status, field.located_household_id);
  assert.equal(status, 403);
  await shot(page, "15d-reference-position.png");
  await page.click("#lang");
  assert.match(await current.textContent(), /Reference position: 28\.231000, 112\.938000 \(set by the back office/);
  await page.click("#lang");
});

test("a supervisor sees handovers; an admin hands a building over and waits for the old phone", async () => {
  await openTab("handovers");
  assert.equal(await page.locator("#handover-form").isVisible(), false, "a supervisor cannot start one");
  const ctx = await newContext(browser);
  const admin = await loggedIn(ctx, URL_BASE, env("GB_ADMIN_ID"), SUP_PASSWORD);
  await admin.goto(`${URL_BASE}/admin#handovers`);
  await admin.waitForFunction(() => document.body.dataset.loaded === "handovers");
  assert.equal(await admin.locator("#handover-form").isVisible(), true);
  // nothing is typed: the grid, the building and the managers are chosen from the server's lists
  for (const id of ["handover-grid", "handover-premises", "handover-to", "handover-to-grid"]) {
    assert.equal(await admin.locator(`#${id}`).evaluate((e) => e.tagName), "SELECT", `${id} is a list`);
  }
  const labels = (id) => admin.locator(`#${id} option`).allTextContents();
  assert.deepEqual(await labels("handover-grid"), ["幸福里网格", "人民路网格"]);
  assert.ok((await labels("handover-to")).includes("王强"), "field managers to hand over to");
  await admin.selectOption("#handover-grid", "g1");
  await admin.waitForFunction((id) => [...document.querySelectorAll("#handover-premises option")].some((o) => o.value === id), field.premises_id);
  assert.match((await labels("handover-premises")).join("|"), /3号楼/, "the grid's buildings by name");
  await admin.selectOption("#handover-premises", field.premises_id);
  await admin.selectOption("#handover-to", "wang");
  // only the receiving manager's grids are offered to receive it (a grid he does not hold cannot be chosen)
  await admin.waitForFunction(() => [...document.querySelectorAll("#handover-to-grid option")].map((o) => o.value).join() === "g2");
  assert.deepEqual(await labels("handover-to-grid"), ["人民路网格"]);
  // a whole grid: its managers to hand over from, the building's list hidden
  await admin.selectOption("#handover-scope", "grid");
  await admin.locator("#handover-from").waitFor({ state: "visible" });
  assert.equal(await admin.locator("#handover-premises").isVisible(), false);
  assert.deepEqual((await labels("handover-from")).sort(), ["张伟", "李娜"].sort());
  await admin.selectOption("#handover-scope", "building");
  await admin.locator("#handover-premises").waitFor({ state: "visible" });
  assert.equal(await admin.inputValue("#handover-premises"), field.premises_id, "the choice is kept");
  await shot(admin, "16a-handover-pickers.png");
  await admin.click("#handover-submit");
  await admin.locator("#handover-result.ok").waitFor();
  assert.match(await admin.locator("#handover-result").textContent(), /已交接，共 \d+ 条记录/);
  const row = admin.locator("#handovers-table tbody tr").first();
  await admin.waitForFunction(() => document.querySelector("#handovers-table tbody tr.handover-waiting") !== null);
  const text = await row.textContent();
  assert.match(text, /一栋楼宇 3号楼/);
  assert.match(text, /王强 · g2/);
  assert.match(text, /等待 张伟/);
  await shot(admin, "16-handover-waiting.png");
  await ctx.close();
  // the supervisor's page shows it too
  await page.click("#refresh");
  await page.locator("#handovers-table tbody tr.handover-waiting").waitFor();
  await shot(page, "17-handovers-supervisor.png");
});

test("the versions page shows what the phones run; an admin publishes, rolls out and withdraws a build", async () => {
  // zhang's row on the devices page carries what his app said of the phone
  await openTab("devices");
  const zhang = await page.locator(`#devices-table tr[data-key="${field.zhang_device}"]`).textContent();
  assert.match(zhang, /HUAWEI nova 11 · Android 14/);
  assert.match(zhang, /200\.0 MB/);
  assert.match(zhang, /空间不足/);
  assert.match(zhang, /省电模式/);
  await openTab("versions");
  assert.equal(await page.locator("#release-form").isVisible(), false, "a supervisor cannot publish");
  assert.match(await page.locator('#versions-running-table tr[data-key="test-1.0"]').textContent(), /test-1\.0\s*2/);
  assert.match(await page.locator('#versions-spread-table tr[data-key="spread.low_storage"]').textContent(), /1$/);
  assert.match(await page.locator('#versions-spread-table tr[data-key="spread.battery_saver"]').textContent(), /1$/);

  const ctx = await newContext(browser);
  const admin = await loggedIn(ctx, URL_BASE, env("GB_ADMIN_ID"), SUP_PASSWORD);
  await admin.goto(`${URL_BASE}/admin#versions`);
  await admin.waitForFunction(() => document.body.dataset.loaded === "versions");
  // not an APK: refused with the reason, nothing listed
  await admin.setInputFiles("#release-file", { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not a package") });
  await admin.fill("#release-version", "1.5.0");
  await admin.click("#release-submit");
  await admin.locator("#release-result.bad").waitFor();
  assert.match(await admin.locator("#release-result").textContent(), /不是 Android 安装包/);
  const apk = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(300_000, 7)]);
  await admin.setInputFiles("#release-file", { name: "gridbook-1.5.0.apk", mimeType: "application/vnd.android.package-archive", buffer: apk });
  await admin.fill("#release-notes", "修复收据打印");
  await admin.fill("#release-rollout", "30");
  await admin.fill("#release-grids", "g1");
  await admin.click("#release-submit");
  await admin.waitForFunction(() => /已发布 1\.5\.0/.test(document.querySelector("#release-result")?.textContent || ""));
  const row = admin.locator("#releases-table tbody tr").first();
  await admin.waitForFunction(() => /30% · g1/.test(document.querySelector("#releases-table tbody tr")?.textContent || ""));
  assert.match(await row.textContent(), /修复收据打印/);
  await row.locator("input.rollout-percent").fill("100");
  await row.locator("button.rollout-apply").click();
  await admin.waitForFunction(() => /100% · g1/.test(document.querySelector("#releases-table tbody tr")?.textContent || ""));
  // the minimum: the phones' "test-1.0" is not a version, so below any minimum
  await admin.fill("#min-version", "1.0.0");
  await admin.click("#min-version-submit");
  await admin.waitForFunction(() => /最低版本已设为 1\.0\.0/.test(document.querySelector("#min-version-result")?.textContent || ""));
  await admin.waitForFunction(() => /低于最低版本/.test(document.querySelector('#versions-running-table tr[data-key="test-1.0"]')?.textContent || ""));
  await shot(admin, "18-versions.png");
  await admin.fill("#min-version", "");
  await admin.click("#min-version-submit");
  await admin.waitForFunction(() => /最低版本已设为 不限/.test(document.querySelector("#min-version-result")?.textContent || ""));
  await row.locator("button.release-withdraw").click();
  await admin.waitForFunction(() => /已撤回/.test(document.querySelector("#releases-table tbody tr")?.textContent || ""));
  await ctx.close();
});

test("a supervisor has a leaving manager's phone and a lost phone wiped; the page shows what each uploaded and lost", async () => {
  // two phones with a day's work not yet synced; they sync when told (after the orders below)
  const sim = spawn(env("GB_FIELDSIM"), ["--url", URL_BASE, "--db", env("GB_DB"), "--wipe-day"], { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise((resolve) => sim.on("exit", resolve));
  const lines = readline.createInterface({ input: sim.stdout })[Symbol.asyncIterator]();
  const next = async () => JSON.parse((await lines.next()).value);
  const phones = await next();
  await openTab("wipes");
  const order = async (device, mode) => {
    await page.waitForFunction((d) => [...document.querySelectorAll("#wipe-device option")].some((o) => o.value === d), device);
    await page.selectOption("#wipe-device", device);
    await page.selectOption("#wipe-mode", mode);
    await page.click("#wipe-submit");
    await page.waitForFunction((d) => document.querySelector(`#wipes-table tr[data-key="${d}"]`) !== null, device);
  };
  // an order given by mistake is cancelled before the phone is told
  await order(field.li_device, "lost");
  assert.match(await page.locator("#wipe-result").textContent(), /已下达：李娜 · .*（遗失）/);
  const mistaken = page.locator(`#wipes-table tr[data-key="${field.li_device}"]`);
  assert.match(await mistaken.textContent(), /已下达，待手机联网.*wangsup/s, "who asked, and when");
  await mistaken.locator("button.wipe-cancel").click();
  await page.waitForFunction((d) => document.querySelector(`#wipes-table tr[data-key="${d}"]`) === null, field.li_device);
  assert.equal(await page.locator("#wipe-result").textContent(), "已撤销");

  await order(phones.retire_device, "retire");
  await order(phones.lost_device, "lost");
  const retired = page.locator(`#wipes-table tr[data-key="${phones.retire_device}"]`);
  const lost = page.locator(`#wipes-table tr[data-key="${phones.lost_device}"]`);
  assert.match(await retired.textContent(), /赵磊.*离职交回.*已下达，待手机联网.*wangsup/s);
  assert.match(await lost.textContent(), /张伟.*遗失.*已下达/s);
  await shot(page, "19-wipes-ordered.png");

  // the phones sync: each is told, uploads as its order says, wipes itself and reports
  sim.stdin.write("go\n");
  const done = await next();
  assert.equal(await exited, 0);
  assert.deepEqual([done.retire.reported, done.lost.reported], [true, true]);
  assert.deepEqual([done.retire.report.ops_uploaded, done.retire.report.ops_lost], [4, 0]);
  assert.deepEqual([done.lost.report.ops_uploaded, done.lost.report.ops_lost, done.lost.report.receipts_lost], [2, 2, 1]);
  await page.click("#refresh");
  await page.locator(`#wipes-table tr.wipe-row-wiped[data-key="${phones.retire_device}"]`).waitFor();
  await page.locator(`#wipes-table tr.wipe-row-wiped[data-key="${phones.lost_device}"]`).waitFor();
  // the columns: status 4, uploaded at the end 8, refused 9, lost 10
  const cell = (row, i) => row.locator("td").nth(i).textContent();
  assert.equal(await cell(retired, 4), "已清除");
  assert.equal(await cell(retired, 8), "4 条，其中收据 1 张 ¥128.00", "everything went up, the receipt with it");
  assert.equal(await cell(retired, 10), "无", "nothing lost");
  assert.equal(await cell(lost, 8), "2 条，其中收据 0 张 ¥0.00");
  assert.equal(await cell(lost, 10), "2 条，收据 1 张 ¥128.00", "the receipt still on the lost phone is lost");
  assert.equal(await lost.locator("td.bad").count(), 1, "what was lost stands out");
  await shot(page, "20-wipes-done.png");

  // the devices page marks them wiped (and revoked); in English the same
  await openTab("devices");
  assert.match(await page.locator(`#devices-table tr[data-key="${phones.retire_device}"]`).textContent(), /已清除/);
  await page.click("#lang");
  await openTab("wipes");
  assert.match(await retired.textContent(), /Retire.*Wiped.*4 changes, 1 receipts ¥128\.00/s);
  await page.click("#lang");
});

test("metrics count the syncs, and logging out ends the session", async () => {
  const metrics = await (await fetch(`${URL_BASE}/metrics`)).text();
  const pushed = Number((metrics.match(/^gridbook_sync_ops_total\{direction="push"\} (\d+)$/m) || [])[1]);
  assert.ok(pushed >= 8, `ops pushed: ${pushed}`);
  assert.match(metrics, /^gridbook_ops_rejected_total [1-9]/m);
  assert.match(metrics, /^gridbook_devices\{state="ok"\} 2$/m);
  assert.match(metrics, /^gridbook_receipts_on_phones_fen 12800$/m);
  assert.match(metrics, /^gridbook_devices_clock_skewed 1$/m);
  assert.match(metrics, /^gridbook_devices_rate_limited 1$/m);
  assert.match(metrics, /^gridbook_http_requests_total\{route="\/v1\/(push|pull)",method="(POST|GET)",status="429"\} 1$/m);
  await Promise.all([page.waitForURL(/\/admin\/login$/), page.click("#logout")]);
  const status = await page.evaluate(async () => (await fetch("/admin/api/devices")).status);
  assert.equal(status, 401);
  await page.goto(`${URL_BASE}/admin`);
  assert.match(page.url(), /\/admin\/login$/);
});

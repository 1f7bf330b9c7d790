// The money controls (/admin/money) and the public receipt check (/verify) in headless Chromium,
// a supervisor seeing only the money of their own grids,
// on a server of their own (its own database, so the dashboard suite's pending void stays
// pending there) with the day real phones synced (gridbook-fieldsim): a signed receipt, a second
// one whose void waits, an unused number of the same receipt book. Run by scripts/test-browser.sh.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { admin, fieldDay, launch, loggedIn, newContext, shot, startServer, workDir, writeSealPng } from "./kit.mjs";

const PASSWORD = `Money-测试-${process.pid}`;
/// Where the public check lives, as configured (`serve --receipt-verify-url`), not this server.
const CHECK_URL = "https://check.example.cn";
let work;
let server;
let base;
let browser;
let page;
let field;

before(async () => {
  work = workDir("gb-money-");
  const db = work.db;
  admin(db, ["create-grid", "--id", "g1", "--name", "幸福里网格"]);
  admin(db, ["create-grid", "--id", "g2", "--name", "人民路网格"]);
  admin(db, ["create-manager", "--id", "zhang", "--name", "张伟", "--role", "field"]);
  admin(db, ["create-manager", "--id", "li", "--name", "李娜", "--role", "field"]);
  admin(db, ["assign-grid", "--manager", "zhang", "--grid", "g1"]);
  admin(db, ["assign-grid", "--manager", "li", "--grid", "g1"]);
  admin(db, ["create-manager", "--id", "wangsup", "--name", "王主管", "--role", "supervisor"], PASSWORD);
  admin(db, ["assign-grid", "--manager", "wangsup", "--grid", "g1"]);
  // another supervisor, of the other grid only: sees none of g1's money
  admin(db, ["create-manager", "--id", "zhaosup", "--name", "赵主管", "--role", "supervisor"], PASSWORD);
  admin(db, ["assign-grid", "--manager", "zhaosup", "--grid", "g2"]);
  admin(db, ["create-manager", "--id", "root", "--name", "系统管理员", "--role", "admin"], PASSWORD);
  // the receipt profile the phones are sent, which the back office's printed copy carries too
  admin(db, ["set-staff-no", "--manager", "zhang", "--staff-no", "CS-0731"]);
  writeSealPng(`${work.dir}/seal.png`);
  ({ server, base } = await startServer(work, ["--company-name", "中国电信长沙分公司 岳麓营业部",
    "--receipt-seal-png", `${work.dir}/seal.png`, "--receipt-verify-url", CHECK_URL]));
  field = fieldDay(base, db);
  browser = await launch();
  page = await loggedIn(await newContext(browser), base, "wangsup", PASSWORD);
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.kill();
  if (work) fs.rmSync(work.dir, { recursive: true, force: true });
});

let code;

test("the money page lists the receipts with their total; a receipt opens in full and prints", async () => {
  await page.click("#money-link");
  await page.waitForURL(/\/admin\/money$/);
  const row = page.locator(`#money-receipts tr[data-receipt-no="${field.receipt_no}"]`);
  await row.waitFor();
  assert.match(await page.textContent("#receipts-total"), /共 2 张，合计 ¥178\.00/);
  assert.match(await row.textContent(), /¥128\.00.*现金/s);
  assert.match(await page.textContent("#page-info"), /1–2 \/ 2/);
  await shot(page, "20-money-receipts.png");

  await row.locator("a.receipt-link").click();
  const detail = page.locator("#receipt-detail");
  await detail.waitFor({ state: "visible" });
  const text = await detail.textContent();
  assert.match(text, /verified/, "the signature checks out again");
  assert.match(text, /王芳/, "the signer, in full for a supervisor (audited)");
  code = (await page.locator('#detail-table td[data-field="验证码 / Verification code"]').textContent()).trim();
  assert.match(code, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{2}$/);
  assert.equal(await page.locator("#detail-signature").isVisible(), true, "the customer's signature is drawn");
  await shot(page, "21-money-receipt-detail.png");

  const print = await page.context().newPage();
  await print.goto(`${base}/admin/money/receipts/${encodeURIComponent(field.receipt_no)}/print`);
  const printed = await print.textContent("body");
  assert.match(printed, /中国电信长沙分公司 岳麓营业部/, "the company from the server's configuration");
  assert.match(printed, /壹佰贰拾捌元整/, "the amount in capitals");
  assert.ok(printed.includes(code), "the same verification code");
  assert.equal(await print.locator(".qr svg path").count(), 1, "a QR code of the public check");
  // the configured check's address, not the one the browser reached the server at
  assert.ok(printed.includes(`${CHECK_URL}/verify?no=${field.receipt_no}&code=${code}`), printed);
  assert.ok(!printed.includes(`${base}/verify`), "not this server's own address");
  // the configured seal, inlined, drawn over the header
  const seal = print.locator("header img.seal");
  assert.match(await seal.getAttribute("src"), /^data:image\/png;base64,iVBORw0KGgo/);
  assert.ok(await seal.evaluate((img) => img.complete && img.naturalWidth === 96), "the seal image is shown");
  assert.match(printed, /收款人 Collector\s*张伟（工号 Staff No\. CS-0731）/, "the collector and their staff number");
  // the payer and the account, masked as on the phone's copy
  assert.match(printed, /缴费人 Payer\s*\S\*+/);
  assert.match(printed, /账号 Account No\.\s*\*+0011/);
  assert.ok(!printed.includes("ACC-0731-0011"), "the account number is masked");
  await shot(print, "22-money-receipt-print.png");
  await print.close();
});

test("a supervisor approves the pending void in the page, with a note", async () => {
  const pending = page.locator(`#pending-voids tr[data-void-id]`);
  await pending.first().waitFor();
  assert.equal(await pending.count(), 1);
  assert.match(await page.textContent("#voids-info"), /第 1–1 笔，共 1 笔/, "paged, with the total");
  assert.equal(await page.locator("#voids-next").isDisabled(), true);
  assert.match(await pending.first().textContent(), /金额写错/);
  await pending.first().locator("input.void-note").fill("核实属实，同意作废");
  await pending.first().locator("button.void-approve").click();
  await page.waitForFunction(() => /已批准/.test(document.getElementById("void-result").textContent));
  assert.match(await page.textContent("#void-result"), new RegExp(`${field.voided_receipt_no}.*已批准`));
  await page.waitForFunction(() => /共 2 张，合计 ¥128\.00/.test(document.getElementById("receipts-total").textContent));
  assert.match(await page.textContent("#pending-voids"), /没有待审批的作废申请/);
  assert.match(await page.textContent("#voids-info"), /共 0 笔/);
  await shot(page, "23-money-void-approved.png");
});

test("zhang's cash is handed in against his receipt, to the fen", async () => {
  await page.selectOption("#hand-in-manager", "zhang");
  await page.locator("#hand-in-receipts tbody tr").first().waitFor();
  assert.equal(await page.locator("#hand-in-receipts tbody tr").count(), 1, "the voided receipt is no cash to hand in");
  assert.match(await page.textContent("#hand-in-selected"), /已选 1 张，合计 ¥128\.00/);
  await page.fill("#hand-in-amount", "127.99");
  await page.click("#hand-in-submit");
  await page.waitForFunction(() => /未登记/.test(document.getElementById("hand-in-result").textContent));
  assert.match(await page.textContent("#hand-in-result"), /12799.*12800/s, "a fen short is refused with both sums");
  await page.fill("#hand-in-amount", "128.00");
  await page.click("#hand-in-submit");
  await page.waitForFunction(() => /已登记/.test(document.getElementById("hand-in-result").textContent));
  // "已登记" is shown before the lists reload: wait for the day's row as reloaded
  const day = page.locator("#cash-days tbody tr", { hasText: "张伟" });
  await page.waitForFunction(() => [...document.querySelectorAll("#cash-days tbody tr")]
    .some((tr) => /张伟/.test(tr.textContent) && /¥0\.00$/.test(tr.textContent.trim())));
  assert.match(await day.textContent(), /¥128\.00.*¥128\.00.*¥0\.00/s, "collected, handed in, none outstanding");
  assert.match(await page.textContent("#hand-ins"), /张伟.*¥128\.00.*wangsup/s);
  // the list is paged by the server, with the count of all
  await page.waitForFunction(() => /共 1 笔/.test(document.getElementById("hand-ins-info").textContent));
  assert.equal(await page.isDisabled("#hand-ins-next"), true, "one hand-in: no next page");
  await shot(page, "24-money-hand-in.png");
});

test("the public check page answers genuine, not genuine and not uploaded yet", async () => {
  const clerk = await browser.newContext({ viewport: { width: 800, height: 900 }, locale: "zh-CN" });
  const p = await clerk.newPage();
  const check = async (no, typed) => {
    await p.goto(`${base}/verify`);
    await p.fill("#no", no);
    await p.fill("#code", typed);
    await Promise.all([p.waitForLoadState("load"), p.click("button[type=submit]")]);
    return p.locator("[data-answer]").getAttribute("data-answer");
  };
  assert.equal(await check(field.receipt_no, code.toLowerCase()), "genuine");
  assert.match(await p.textContent(".answer"), /真实有效.*¥128\.00/s);
  assert.ok(!(await p.textContent("body")).includes("王芳"), "no personal data");
  await shot(p, "25-verify-genuine.png");
  assert.equal(await check(field.receipt_no, "AAAA-AAAA-AA"), "not-genuine");
  await shot(p, "26-verify-not-genuine.png");
  // the next number of zhang's receipt book: issued to his phone, never uploaded
  const next = field.voided_receipt_no.replace(/(\d{3})$/, (n) => String(Number(n) + 1).padStart(3, "0"));
  assert.equal(await check(next, "AAAA-AAAA-AA"), "not-uploaded");
  assert.match(await p.textContent(".answer"), /已开出，尚未上传/);
  await shot(p, "27-verify-not-uploaded.png");
  await clerk.close();
});

test("an admin issues a phone's enrolment code, shown once with its QR code, and revokes a device", async () => {
  const context = await newContext(browser);
  const p = await loggedIn(context, base, "root", PASSWORD);
  await p.click("#administration-link");
  await p.waitForURL(/\/admin\/administration$/);
  await p.locator(`#admin-devices tr[data-device="${field.zhang_device}"]`).waitFor();
  await p.fill("#enrol-manager", "zhang");
  await p.click("#enrol-submit");
  await p.locator("#enrol-shown").waitFor({ state: "visible" });
  assert.match(await p.textContent("#enrol-code"), /^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
  await p.waitForFunction(() => document.getElementById("enrol-qr").naturalWidth > 0);
  await shot(p, "28-admin-enrol-code.png");
  p.once("dialog", (d) => d.accept());
  await p.locator(`#admin-devices tr[data-device="${field.li_device}"] button.revoke`).click();
  await p.waitForFunction(() => /已吊销/.test(document.getElementById("revoke-result").textContent));
  assert.match(await p.locator(`#admin-devices tr[data-device="${field.li_device}"]`).textContent(), /已吊销/);
  await p.fill("#audit-action", "device_revoked");
  await p.click("#audit-filter button[type=submit]");
  await p.waitForFunction(() => document.querySelectorAll("#audit-table tbody tr").length === 1);
  assert.match(await p.textContent("#audit-table tbody"), new RegExp(`root.*device_revoked.*${field.li_device}`, "s"));
  await shot(p, "29-admin-device-revoked.png");
  await context.close();
});

test("another grid's supervisor sees none of this grid's receipts, voids or cash", async () => {
  const context = await newContext(browser);
  const p = await loggedIn(context, base, "zhaosup", PASSWORD);
  await p.goto(`${base}/admin/money`);
  await p.waitForFunction(() => /共 0 张/.test(document.getElementById("receipts-total").textContent));
  assert.equal(await p.locator(`#money-receipts tr[data-receipt-no="${field.receipt_no}"]`).count(), 0);
  assert.equal(await p.locator("#pending-voids tr[data-void-id]").count(), 0);
  assert.ok(!(await p.textContent("#cash-days")).includes("张伟"), "no cash of g1's managers");
  await p.waitForFunction(() => /共 0 笔/.test(document.getElementById("hand-ins-info").textContent));
  assert.equal(await p.locator("#hand-ins tbody tr").count(), 0, "nor their hand-ins");
  await shot(p, "30-money-other-supervisor.png");
  // and by address: the receipt and its printed copy are not there for them
  const api = await p.request.get(`${base}/admin/api/money/receipts/${encodeURIComponent(field.receipt_no)}`);
  assert.equal(api.status(), 404);
  const print = await p.request.get(`${base}/admin/money/receipts/${encodeURIComponent(field.receipt_no)}/print`);
  assert.equal(print.status(), 404);
  await context.close();
});

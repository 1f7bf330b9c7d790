// The import and export page (issue 7) in headless Chromium against the real server binary: an
// admin uploads a small archive sheet, checks it, sees the refused rows with their reasons, imports
// it, and downloads an export. Uses grid g2, where no phone works, so that the dashboard's
// figures stay the other test's. Run by scripts/test-browser.sh.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { admin, env, launch, loggedIn, newContext, shot } from "./kit.mjs";

const URL_BASE = env("GB_URL");
const ADMIN_ID = "chenadmin";
const ADMIN_PASSWORD = `Gridbook-管理员-${process.pid}`;

// 2 households to create, 1 row refused (the ID number's check digit is wrong)
const SHEET = [
  "楼宇,单元,房号,客户名称,手机,证件号码,公司业务",
  "7号楼,1,101,陈静,13812340001,11010519491231002X,宽带:073184001001",
  "7号楼,1,102,周涛,13812340002,110105194912310021,",
  "7号楼,1,103,吴敏,13812340003,,",
].join("\r\n");

let browser;
let page;

before(async () => {
  admin(env("GB_DB"), ["create-manager", "--id", ADMIN_ID, "--name", "陈管理员", "--role", "admin"], ADMIN_PASSWORD);
  browser = await launch();
  page = await loggedIn(await newContext(browser, 1280), URL_BASE, ADMIN_ID, ADMIN_PASSWORD);
});

after(async () => {
  if (browser) await browser.close();
});

test("the dashboard links to the import and export page", async () => {
  await page.click("#transfer-link");
  await page.waitForFunction(() => document.body.dataset.ready === "true");
  assert.match(page.url(), /\/admin\/transfer$/);
  assert.match(await page.textContent("h2 >> nth=1"), /^导入表格 \/ Import a sheet/);
  assert.equal(await page.isVisible("#import-form"), true, "an admin may import");
});

test("checking a sheet shows the refused rows and writes nothing; importing writes the rest", async () => {
  await page.selectOption("#grid", "g2");
  await page.setInputFiles("#sheet-file", { name: "档案.csv", mimeType: "text/csv", buffer: Buffer.from(SHEET, "utf8") });
  await page.click("#check");
  await page.locator("#import-summary").waitFor({ state: "visible" });
  assert.match(await page.textContent("#import-summary"), /检查结果（未写入）.*共 3 行.*新建 2 created.*拒绝 1 refused/);
  const rows = page.locator("#refused-table tbody tr");
  assert.equal(await rows.count(), 1);
  const cells = await rows.first().locator("td").allTextContents();
  assert.equal(cells[0], "3", "the row number as the sheet shows it");
  assert.equal(cells[1], "证件号码");
  assert.equal(cells[2], "1101**********0021", "the ID number is masked");
  assert.match(cells[3], /证件号码不正确/);
  assert.match(cells[4], /check digit/);
  await shot(page, "20-import-checked.png");

  await page.click("#import");
  await page.waitForFunction(() => document.querySelector("#import-summary")?.textContent.startsWith("已导入"));
  assert.match(await page.textContent("#import-summary"), /新建 2 created/);
  await page.click("#import"); // the same sheet again creates nothing
  await page.waitForFunction(() => /未变 2 unchanged/.test(document.querySelector("#import-summary")?.textContent || ""));
  await shot(page, "21-import-done.png");
});

test("a sheet without the required columns gets a clear message", async () => {
  await page.setInputFiles("#sheet-file", { name: "wrong.csv", mimeType: "text/csv", buffer: Buffer.from("姓名,电话\n王,1\n", "utf8") });
  await page.click("#check");
  await page.waitForFunction(() => /导入失败/.test(document.querySelector("#transfer-status")?.textContent || ""));
  assert.match(await page.textContent("#transfer-status"), /缺少必需的列.*楼宇 \(building\)/);
});

test("the export links download the grid's sheets", async () => {
  const href = await page.getAttribute('#export-table tr[data-dataset="archives"] a[data-format="csv"]', "href");
  assert.match(href, /grid=g2/);
  const resp = await page.request.get(`${URL_BASE}${href}`);
  assert.equal(resp.status(), 200);
  const text = (await resp.body()).toString("utf8");
  assert.ok(text.startsWith("\uFEFF档案编号"), "UTF-8 with a BOM, template headers");
  // masked as the household page masks without a reveal: the surname only, the phone masked
  assert.ok(text.includes("陈*") && !text.includes("陈静") && text.includes("138****0001") && !text.includes("13812340001"),
    "masked by default");
  const summary = await page.getAttribute('#export-table tr[data-dataset="summary"] a[data-format="xlsx"]', "href");
  const x = await page.request.get(`${URL_BASE}${summary}`);
  assert.equal(x.status(), 200);
  assert.match(x.headers()["content-type"], /spreadsheetml/);
});

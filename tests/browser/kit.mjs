// What the browser suites share: the environment scripts/test-browser.sh sets, the server's admin
// commands, a server of a suite's own (its own database) on 127.0.0.1 port 0, headless Chromium
// with pages that may load nothing from anywhere but the server, the login, and screenshots.
// Not a test file itself (node --test runs *.test.mjs only).
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/// A variable scripts/test-browser.sh sets; missing is an error that says how to run the suite.
export function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this through scripts/test-browser.sh`);
  return v;
}

const require = createRequire(import.meta.url);
const { chromium } = require(path.join(env("PLAYWRIGHT_CORE_DIR"), "playwright-core"));

/// Saves a full-page screenshot of `page` as `name` among the suite's artefacts.
export async function shot(page, name) {
  const dir = env("GB_SCREENSHOTS");
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, name), fullPage: true });
}

/// Runs `gridbook-sync-server admin --db db …args`, with `password` as the new account's
/// password when given; answers what it printed.
export function admin(db, args, password) {
  return execFileSync(env("GB_SERVER"), ["admin", "--db", db, ...args], {
    env: Object.assign({}, process.env, password ? { GRIDBOOK_NEW_PASSWORD: password } : {}),
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
}

/// A temporary directory of the suite's own, with the path of its database in it.
export function workDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, db: path.join(dir, "server.db") };
}

/// Starts the server binary on `db` (127.0.0.1, port 0) with `args` besides; answers the process
/// and its address once it has written its port.
export async function startServer(work, args = []) {
  const portFile = path.join(work.dir, "port");
  const server = spawn(env("GB_SERVER"), ["serve", "--db", work.db, "--listen", "127.0.0.1:0", "--port-file", portFile, ...args], {
    env: Object.assign({}, process.env, { GRIDBOOK_LOG: "warn" }),
    stdio: ["ignore", "ignore", "inherit"],
  });
  for (let i = 0; i < 300 && !(fs.existsSync(portFile) && fs.readFileSync(portFile, "utf8").trim()); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  return { server, base: `http://${fs.readFileSync(portFile, "utf8").trim()}` };
}

/// Real phones syncing a day's work to the server at `base` (gridbook-fieldsim); answers what they
/// did (its last line, JSON).
export function fieldDay(base, db, args = []) {
  const out = execFileSync(env("GB_FIELDSIM"), ["--url", base, "--db", db, ...args], { encoding: "utf8", timeout: 180_000 });
  return JSON.parse(out.trim().split("\n").pop());
}

/// Headless Chromium (Debian's, or $CHROMIUM).
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/// A browser context as the pages are used in China: zh-CN, Beijing time, `width` px wide.
export function newContext(browser, width = 1440) {
  return browser.newContext({ viewport: { width, height: 900 }, locale: "zh-CN", timezoneId: "Asia/Shanghai" });
}

/// A new page of `context` that fails on any request to anywhere but `base` (no outside assets).
export async function newPage(context, base) {
  const page = await context.newPage();
  page.on("request", (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith("data:")) throw new Error(`request to ${r.url()}`);
  });
  return page;
}

/// Logs `page` in at `base` as `id`; answers once the page the login leads to has loaded.
export async function login(page, base, id, password) {
  await page.goto(`${base}/admin/login`);
  await page.fill("#login-id", id);
  await page.fill("#login-password", password);
  await Promise.all([page.waitForLoadState("load"), page.click("#login-submit")]);
}

/// A new page of `context` logged in as `id`, on the back office's home page.
export async function loggedIn(context, base, id, password) {
  const page = await newPage(context, base);
  await login(page, base, id, password);
  assert.match(page.url(), /\/admin$/, `${id} logged in`);
  return page;
}

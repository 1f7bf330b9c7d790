// What the browser suites share: the environment scripts/test-browser.sh sets, the server's admin
// commands, a server of a suite's own (its own database) on 127.0.0.1 port 0, headless Chromium
// with pages that may load nothing from anywhere but the server, the login, screenshots, rows
// written straight into the database and a seal image.
// Not a test file itself (node --test runs *.test.mjs only).
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";

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

/// Runs `sql` on the server's database with the sqlite3 CLI (.ci/install-tools installs it): rows
/// a suite needs in known numbers, written as the server keeps them, beside what the phones sent.
export function sqlite(db, sql) {
  return execFileSync("sqlite3", ["-cmd", ".timeout 5000", db, sql], { encoding: "utf8" });
}

/// Writes a company seal (印章) as a PNG to `file`: a red ring on transparency, `side` px a side,
/// as `serve --receipt-seal-png` takes one.
export function writeSealPng(file, side = 96) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header[8] = 8; // 8 bits a sample
  header[9] = 6; // RGBA
  const rows = [];
  const mid = (side - 1) / 2;
  for (let y = 0; y < side; y++) {
    const row = Buffer.alloc(1 + side * 4); // filter 0, then the pixels
    for (let x = 0; x < side; x++) {
      const r = Math.hypot(x - mid, y - mid);
      const ink = r <= side / 2 - 1 && r >= side / 2 - 8;
      row.set(ink ? [200, 16, 32, 255] : [0, 0, 0, 0], 1 + x * 4);
    }
    rows.push(row);
  }
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", zlib.deflateSync(Buffer.concat(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
  fs.writeFileSync(file, png);
  return png;
}

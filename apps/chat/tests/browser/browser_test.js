// browser_test.js: eddy-chat in a real browser. Starts the server, opens
// the page in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core), picks a nickname, joins a room, sends a message that a
// line (nc-style) client receives, and sees a message from that client
// appear; keeps a screenshot as the test's artifact (its path is printed).
//
//   node browser_test.js PATH_TO_EDDY_CHAT OUTPUT_DIR
"use strict";
const { chromium } = require("playwright-core");
const { spawn } = require("child_process");
const fs = require("fs");
const net = require("net");
const os = require("os");
const path = require("path");

const [bin, outDir] = process.argv.slice(2);
if (!bin || !outDir) {
  console.error("usage: node browser_test.js PATH_TO_EDDY_CHAT OUTPUT_DIR");
  process.exit(2);
}
const guard = setTimeout(() => fail("the test took longer than 90 s"), 90000);
let server = null, browser = null;

function fail(why) {
  console.error("not ok - browser: " + why);
  if (server) server.kill("SIGKILL");
  if (browser) browser.close().catch(() => {});
  process.exit(1);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// The server's first lines tell the line port and the page's URL.
function startServer(httpPort) {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), "eddy-chat-browser-"));
  server = spawn(bin, ["--port", "0", "--http-port", String(httpPort), "--data-dir", data],
                 { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    server.stdout.on("data", (d) => {
      out += d;
      const line = out.match(/listening on 127\.0\.0\.1:(\d+)/);
      const url = out.match(/web page: (http:\/\/\S+)/);
      if (line && url) resolve({ linePort: Number(line[1]), url: url[1], out });
    });
    server.on("exit", (code) => reject(new Error("eddy-chat exited early (" + code + "): " + out)));
  });
}

// A line-protocol client, as nc would be.
class LineClient {
  constructor(port) {
    this.lines = [];
    this.waiters = [];
    this.buf = "";
    this.sock = net.connect(port, "127.0.0.1");
    this.sock.setEncoding("utf8");
    this.sock.on("data", (d) => {
      this.buf += d;
      let i;
      while ((i = this.buf.indexOf("\n")) >= 0) {
        this.lines.push(this.buf.slice(0, i));
        this.buf = this.buf.slice(i + 1);
      }
      this.waiters = this.waiters.filter((w) => !w());
    });
  }
  send(line) { this.sock.write(line + "\n"); }
  expect(text, ms = 10000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.lines.find((l) => l.includes(text));
        if (hit) { resolve(hit); return true; }
        return false;
      };
      if (check()) return;
      this.waiters.push(check);
      setTimeout(() => reject(new Error("nc client: expected " + JSON.stringify(text) +
                                        ", got " + JSON.stringify(this.lines.slice(-8)))), ms);
    });
  }
}

async function main() {
  const httpPort = await freePort();
  const { linePort, url } = await startServer(httpPort);
  console.log("eddy-chat: line port " + linePort + ", page " + url);

  const nc = new LineClient(linePort);
  await nc.expect("welcome");
  nc.send("/nick nc_alice");
  await nc.expect("you are nc_alice");
  nc.send("/join lobby");
  await nc.expect("nc_alice joined");
  nc.send("said before the browser came");
  await nc.expect("<nc_alice> said before the browser came");

  const args = ["--disable-dev-shm-usage"];
  if (process.getuid && process.getuid() === 0) args.push("--no-sandbox"); // root: no sandbox
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args });
  const page = await browser.newPage({ viewport: { width: 1000, height: 620 } });
  const problems = [];
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("console", (m) => { if (m.type() === "error") problems.push("console: " + m.text()); });

  await page.goto(url);
  await page.waitForSelector("#status:has-text('choose a nickname')", { timeout: 10000 });
  await page.fill("#nick", "web_bob");
  await page.click("#nick-btn");
  await page.waitForSelector("#status:has-text('you are web_bob')", { timeout: 10000 });
  await page.fill("#room", "lobby");
  await page.click("#join-btn");
  await page.waitForSelector("#room-title:has-text('#lobby')", { timeout: 10000 });
  // history on join: the message said before the page joined
  await page.waitForSelector(".msg.history:has-text('said before the browser came')", { timeout: 10000 });
  await nc.expect("web_bob joined");

  // page -> nc
  await page.fill("#text", "hello from the browser");
  await page.click("#send-btn");
  await nc.expect("[lobby] <web_bob> hello from the browser");
  // nc -> page
  nc.send("hello from nc");
  await page.waitForSelector(".msg.user:has-text('hello from nc')", { timeout: 10000 });
  const last = await page.locator(".msg.user").last().innerText();
  if (!last.includes("nc_alice") || !last.includes("hello from nc")) throw new Error("last message: " + last);
  // who is here, and the room list
  await page.waitForSelector("#who li:has-text('nc_alice')", { timeout: 10000 });
  await page.waitForSelector("#who li:has-text('web_bob (you)')", { timeout: 10000 });
  await page.waitForSelector("#rooms li:has-text('lobby (2)')", { timeout: 10000 });

  fs.mkdirSync(outDir, { recursive: true });
  const shot = path.join(path.resolve(outDir), "chat-browser.png");
  await page.screenshot({ path: shot });
  console.log("screenshot: " + shot);

  // graceful shutdown reaches the page: the goodbye, then the close
  const exited = new Promise((resolve) => server.on("exit", (code) => resolve(code)));
  server.kill("SIGTERM");
  await page.waitForSelector(".msg:has-text('server shutting down; goodbye')", { timeout: 10000 });
  await page.waitForSelector("#status:has-text('disconnected: server shutting down')", { timeout: 10000 });
  const bye = path.join(path.resolve(outDir), "chat-browser-goodbye.png");
  await page.screenshot({ path: bye });
  console.log("screenshot after shutdown: " + bye);
  const code = await exited;
  server = null;
  if (code !== 0) throw new Error("eddy-chat exited with " + code);
  if (problems.length) throw new Error(problems.join("; "));
  await browser.close();
  browser = null;
}

main().then(() => {
  clearTimeout(guard);
  console.log("ok - browser");
  process.exit(0);
}, (e) => fail(e.stack || String(e)));

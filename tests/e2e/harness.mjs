// Shared by the end-to-end tests: starts the real `pinframe serve --demo` binary on a free port
// with a fresh data directory, and headless Chromium through playwright-core.
import { execFileSync, spawn } from "node:child_process";
import { after, before } from "node:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createRequire } from "node:module";
import { createServer } from "node:net";

const root = resolve(import.meta.dirname, "../..");
const require = createRequire(join(root, "tools/package.json"));
export const { chromium } = require("playwright-core");
export const jose = await import(require.resolve("jose"));

export const DEMO = {
  issuer: "DEMOISSUER",
  clientId: "demo-client",
  clientSecret: "demo-secret",
  card: "demo-card",
  pin: "2468",
};

export const bin = process.env.PINFRAME_BIN ?? join(root, "target/debug/pinframe");
const LOG = "debug,sqlx=warn,hyper=info,h2=info,hyper_util=info,reqwest=info,rustls=info";

/// Spawns `pinframe ARGS` and resolves with the child, its output so far, and the URL it prints
/// once it listens (`pattern` captures it).
async function spawnListening(args, env, pattern) {
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PINFRAME_LOG: LOG, ...env } });
  const out = { stdout: "", stderr: "" };
  child.stdout.on("data", (d) => (out.stdout += d));
  child.stderr.on("data", (d) => (out.stderr += d));
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${args[0]} did not start:\n${out.stdout}\n${out.stderr}`)), 30_000);
    child.on("exit", (code) => fail(new Error(`${args[0]} exited with ${code}:\n${out.stderr}`)));
    const poll = setInterval(() => {
      const m = out.stdout.match(pattern);
      if (m) {
        clearInterval(poll);
        clearTimeout(timer);
        ok(m[1]);
      }
    }, 20);
  });
  const stop = async () => {
    child.kill("SIGTERM");
    await new Promise((ok) => (child.exitCode !== null || child.signalCode !== null ? ok() : child.on("exit", ok)));
  };
  return { child, out, url, stop };
}

/// Starts the reference CMS alone (`pinframe cms`) in `dataDir`, on `listen` (default a free port).
export async function startCms({ dataDir, recipientJwk, secret, listen = "127.0.0.1:0" }) {
  const args = ["cms", "--listen", listen, "--data-dir", dataDir, "--recipient-jwk", recipientJwk];
  const { out, url, stop } = await spawnListening(args, { PINFRAME_CMS_CLIENT_SECRET: secret }, /pinframe cms listening on (http:\/\/\S+)/);
  return {
    url,
    out,
    stop,
    /// A card's PIN change counter, read from the CMS's database.
    changeCounter(card = "demo-card") {
      const script =
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); " +
        "print(c.execute('SELECT change_counter FROM cms_pins WHERE card_id = ?', (sys.argv[2],)).fetchone()[0])";
      return Number(execFileSync("python3", ["-c", script, join(dataDir, "cms.db"), card]).toString().trim());
    },
  };
}

/// Starts the service. Resolves once it prints the address it listens on. With `cms`, the service
/// uses that CMS over HTTP (`--cms-url`) with `dataDir` prepared by the caller; `env` adds to or
/// overrides its environment (`PINFRAME_LOG`, say).
export async function startServer({ cms, dataDir: given, env: extraEnv = {}, args: extraArgs = [], keepData = false } = {}) {
  const dataDir = given ?? mkdtempSync(join(tmpdir(), "pinframe-e2e-"));
  const args = ["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--widget-dir", join(root, "dist"), ...extraArgs];
  const env = { ...extraEnv };
  if (cms) {
    args.push("--cms-url", cms.url);
    env.PINFRAME_CMS_CLIENT_SECRET = cms.secret;
  }
  const { child, out, url, stop } = await spawnListening(args, env, /pinframe listening on (http:\/\/\S+)/);
  return {
    url,
    dataDir,
    out,
    /// Sends SIGHUP and resolves once the service logs that it reloaded its keys.
    async reload() {
      const seen = (out.stderr.match(/keys reloaded/g) ?? []).length;
      child.kill("SIGHUP");
      const deadline = Date.now() + 10_000;
      while ((out.stderr.match(/keys reloaded/g) ?? []).length === seen) {
        if (Date.now() > deadline) throw new Error(`no reload after SIGHUP:\n${out.stderr.slice(-2000)}`);
        await new Promise((ok) => setTimeout(ok, 20));
      }
    },
    /// Every secret the service holds on disk, as it would appear in a log.
    keyMaterial() {
      const secrets = [];
      const files = cms ? ["service-key.jwk", "signing-key.jwk"] : ["service-key.jwk", "signing-key.jwk", "cms/cms-key.jwk"];
      for (const file of files) {
        secrets.push(JSON.parse(readFileSync(join(dataDir, file), "utf8")).d);
      }
      for (const file of cms ? ["data-key.hex"] : ["data-key.hex", "cms/kek.hex"]) {
        const hex = readFileSync(join(dataDir, file), "utf8").trim();
        secrets.push(hex, hex.toLowerCase());
      }
      return secrets;
    },
    /// The demo card's PIN change counter, read from the embedded CMS's database.
    changeCounter() {
      const script =
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); " +
        "print(c.execute(\"SELECT change_counter FROM cms_pins WHERE card_id = 'demo-card'\").fetchone()[0])";
      return Number(execFileSync("python3", ["-c", script, join(dataDir, "cms/cms.db")]).toString().trim());
    },
    /// Stops the service and removes its data directory (unless started with `keepData`).
    async stop() {
      await stop();
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/// Debian's Chromium, and the flags it needs here: no sandbox as root, and no reaching out to the
/// internet at start (refused here).
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/// What an issuer backend does: asks for a PIN-control token with its Basic credentials.
export async function issueToken(base, body, tokens) {
  const auth = Buffer.from(`${DEMO.clientId}:${DEMO.clientSecret}`).toString("base64");
  const response = await fetch(`${base}/api/v1/pin-control/tokens`, {
    method: "POST",
    headers: { authorization: `Basic ${auth}`, "content-type": "application/json" },
    body: JSON.stringify({ cardId: DEMO.card, action: "VIEW_PIN", ...body }),
  });
  if (response.status !== 201) throw new Error(`token request: ${response.status} ${await response.text()}`);
  const answer = await response.json();
  tokens?.push(answer.token);
  return answer;
}

/// What the widget does: a POST with the PIN-control token as Bearer credential.
export async function bearerPost(base, path, token, body) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  return fetch(`${base}${path}`, { method: "POST", headers, body: body && JSON.stringify(body) });
}

/// A page in a fresh browser context (nothing cached, nothing shared) that records CSP refusals
/// from its console, with `initScript` run before any of the page's own scripts.
export async function newPage(browser, initScript) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cspViolations = [];
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
  });
  if (initScript) await page.addInitScript(initScript);
  return { context, page, cspViolations };
}

/// For a test file: starts the service (with `options`, as `startServer` takes them) and Chromium
/// before its tests, and stops both after. The returned object's `server` and `browser` are set once
/// `before` has run.
export function serverAndBrowser(options) {
  const running = { server: null, browser: null };
  before(async () => {
    running.server = await startServer(options);
    running.browser = await launchBrowser();
  });
  after(async () => {
    await running.browser?.close();
    await running.server?.stop();
  });
  return running;
}

/// A TCP port that was free a moment ago on 127.0.0.1 (the kernel's pick for port 0).
export function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

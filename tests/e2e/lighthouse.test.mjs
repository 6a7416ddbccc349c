// Lighthouse 12 (accessibility and best practices, mobile) on the widget's view page with the PIN
// on screen and on its set page, in headless Chromium: both categories must score 1; a failing audit
// is named with its title. Before that, each page is loaded in a fresh context and must log no
// console warning or error (a preload's ignored `integrity`, a CSP refusal, a deprecation, …).
// Each load gets a token of its own: a view token is used up by the load that shows the PIN, and the
// audited load is checked to be the one that did.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createRequire } from "node:module";
import { CHROMIUM, CHROMIUM_ARGS, DEMO, freePort, issueToken, startServer } from "./harness.mjs";

const require = createRequire(join(resolve(import.meta.dirname, "../.."), "tools/package.json"));
const puppeteer = require("puppeteer-core");
const { default: lighthouse } = await import(require.resolve("lighthouse"));
const { screenEmulationMetrics } = await import(require.resolve("lighthouse/core/config/constants.js"));

const CHROMIUM_FLAGS = ["--headless=new", ...CHROMIUM_ARGS];
const TIMEOUT = { timeout: 120_000 };

/// Chromium with its DevTools port open (Lighthouse's way in), in a profile of its own.
async function startChromium() {
  const port = await freePort();
  const profile = mkdtempSync(join(tmpdir(), "pinframe-lighthouse-"));
  const child = spawn(
    CHROMIUM,
    [...CHROMIUM_FLAGS, `--remote-debugging-port=${port}`, `--user-data-dir=${profile}`, "about:blank"],
    { stdio: "ignore" },
  );
  const exited = new Promise((ok) => child.once("exit", ok));
  let ready = false;
  for (let i = 0; i < 300 && !ready && child.exitCode === null; i++) {
    ready = await fetch(`http://127.0.0.1:${port}/json/version`).then((r) => r.ok, () => false);
    if (!ready) await new Promise((ok) => setTimeout(ok, 100));
  }
  if (!ready) throw new Error("Chromium's DevTools port did not open");
  return {
    port,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

let server;
let chromium;
let browser;
before(async () => {
  server = await startServer();
  chromium = await startChromium();
  browser = await puppeteer.connect({ browserURL: `http://127.0.0.1:${chromium.port}` });
});
after(async () => {
  await browser?.disconnect();
  await chromium?.stop();
  await server?.stop();
});

const viewCount = () => server.out.stderr.split("\n").filter((l) => l.includes('"route":"/api/v1/pin/view"')).length;

/// The pages, each with a fresh token, and what shows it loaded: the PIN for the view page, the
/// form for the set one.
const PAGES = {
  view: { body: {}, shown: ".pinframe-pin" },
  set: { body: { action: "SET_PIN" }, shown: "#pinframe-new-pin" },
};

describe("Chromium's console", () => {
  for (const [name, { body, shown }] of Object.entries(PAGES)) {
    test(`the ${name} page logs no warning and no error`, TIMEOUT, async () => {
      const context = await browser.createBrowserContext();
      try {
        const page = await context.newPage();
        const logged = [];
        page.on("console", (m) => {
          if (["warn", "warning", "error", "assert"].includes(m.type())) logged.push(`${m.type()}: ${m.text()}`);
        });
        page.on("pageerror", (e) => logged.push(`pageerror: ${e.message}`));
        const { url } = await issueToken(server.url, body);
        await page.goto(url, { waitUntil: "load" });
        await page.waitForSelector(shown);
        if (name === "view") assert.equal(await page.$eval(shown, (e) => e.textContent), DEMO.pin);
        // A round trip through the page: what it logged while loading has reached us by then.
        await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => setTimeout(done))));
        assert.deepEqual(logged, []);
      } finally {
        await context.close();
      }
    });
  }
});

describe("Lighthouse 12, mobile", () => {
  for (const [name, { body, shown }] of Object.entries(PAGES)) {
    test(`the ${name} page scores 1 in accessibility and in best practices`, TIMEOUT, async () => {
      const context = await browser.createBrowserContext();
      try {
        const page = await context.newPage();
        const { url } = await issueToken(server.url, body);
        const views = viewCount();
        const { lhr } = await lighthouse(
          url,
          {
            port: chromium.port,
            logLevel: "error",
            output: "json",
            onlyCategories: ["accessibility", "best-practices"],
            formFactor: "mobile",
            screenEmulation: screenEmulationMetrics.mobile,
          },
          undefined,
          page,
        );
        // The audited load is the one that took the token: the view page shows its PIN.
        assert.equal(lhr.runtimeError, undefined, JSON.stringify(lhr.runtimeError));
        assert.ok(await page.$(shown), `the audited ${name} page showed ${shown}`);
        assert.equal(viewCount(), name === "view" ? views + 1 : views);
        for (const id of ["accessibility", "best-practices"]) {
          const category = lhr.categories[id];
          const failing = category.auditRefs
            .filter((ref) => ref.weight > 0 && lhr.audits[ref.id].score !== 1 && lhr.audits[ref.id].score !== null)
            .map((ref) => `${ref.id}: ${lhr.audits[ref.id].title} (${lhr.audits[ref.id].score})`);
          assert.equal(category.score, 1, `${id} ${category.score}; failing: ${failing.join("; ")}`);
        }
      } finally {
        await context.close();
      }
    });
  }
});

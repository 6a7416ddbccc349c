// Two processes: `pinframe cms` (the D1 PIN Management API server) and `pinframe serve --cms-url`.
// The browser flows of the view and set issues run against the remote CMS; then the CMS stops, the
// widget reports view_pin_error / set_pin_error, the service stays up, and once the CMS is back the
// same (unconsumed) token works.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEMO, bearerPost, bin, issueToken, jose, launchBrowser, newPage, startCms, startServer } from "./harness.mjs";

const SECRET = "e2e-cms-client-secret";
let root;
let cms;
let server;
let browser;
const tokens = [];

let firstCmsOutput = "";

async function startTheCms(listen) {
  if (cms) firstCmsOutput += cms.out.stdout + cms.out.stderr;
  cms = await startCms({
    dataDir: join(root, "cms"),
    recipientJwk: join(root, "service-public.jwk"),
    secret: SECRET,
    listen,
  });
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), "pinframe-two-"));
  // Key exchange, as at onboarding: the service's key is made first; the CMS gets its public half.
  const serviceDir = join(root, "service");
  mkdirSync(serviceDir, { mode: 0o700 });
  writeFileSync(join(serviceDir, "service-key.jwk"), execFileSync(bin, ["keys", "generate"]), { mode: 0o600 });
  chmodSync(join(serviceDir, "service-key.jwk"), 0o600);
  writeFileSync(
    join(root, "service-public.jwk"),
    execFileSync(bin, ["keys", "public", "--jwk", join(serviceDir, "service-key.jwk")]),
  );
  await startTheCms();
  server = await startServer({ cms: { url: cms.url, secret: SECRET }, dataDir: serviceDir });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await cms?.stop();
  rmSync(root, { recursive: true, force: true });
});

/// Opens /demo/ and clicks `button`; resolves with the page, its frame and the token it got.
async function demo(button) {
  const { context, page, cspViolations } = await newPage(browser, () => {
    window.__events = [];
    window.addEventListener("message", (e) => window.__events.push(e.data));
  });
  await page.goto(`${server.url}/demo/`);
  const tokenAnswer = page.waitForResponse((r) => r.url().endsWith("/demo/api/token"));
  await page.click(button);
  tokens.push((await (await tokenAnswer).json()).token);
  return { context, page, frame: page.frameLocator("iframe"), cspViolations };
}

describe("the service over HTTP to `pinframe cms`", () => {
  test("the demo seeded its PIN through the CMS's PUT: counter 1", () => {
    assert.equal(cms.changeCounter(), 1);
    assert.match(server.out.stderr, /CMS call/);
  });

  test("desktop iframe: view PIN", async () => {
    const { context, page, frame, cspViolations } = await demo("#view-pin");
    await frame.locator(".pinframe-pin").waitFor();
    assert.equal(await frame.locator(".pinframe-pin").textContent(), DEMO.pin);
    await page.waitForFunction(() => window.__events.some((e) => e.event === "view_pin_success"));
    assert.deepEqual(cspViolations, []);
    await context.close();
  });

  test("desktop iframe: set PIN, then view it; the CMS counter moves by one", async () => {
    const counter = cms.changeCounter();
    const { context, page, frame } = await demo("#set-pin");
    await frame.locator("#pinframe-new-pin").pressSequentially("5813");
    await frame.locator("#pinframe-confirm-pin").pressSequentially("5813");
    await frame.locator(".pinframe-submit").click();
    await frame.locator(".pinframe-done").waitFor();
    await page.waitForFunction(() => window.__events.some((e) => e.event === "set_pin_success"));
    assert.equal(cms.changeCounter(), counter + 1);
    await page.click("#view-pin");
    await frame.locator(".pinframe-pin").waitFor();
    assert.equal(await frame.locator(".pinframe-pin").textContent(), "5813");
    await context.close();
  });

  test("CMS down: the host hears service_unavailable, Try again works once it is back, the service stays up, nothing is lost", async () => {
    const address = new URL(cms.url).host;
    await cms.stop();
    const heard = (page) => page.evaluate(() => window.__events.filter((e) => e.event !== "pin_valid" && e.event !== "resize").map((e) => e.event + (e.code ? `:${e.code}` : "")));

    // Both flows stop with a retryable error: no view_pin_error or set_pin_error, since the same
    // link can still work.
    const view = await demo("#view-pin");
    await view.page.waitForFunction(() => window.__events.some((e) => e.event === "error"));
    await view.frame.locator('.pinframe-error[data-code="service_unavailable"]').waitFor();
    await view.frame.locator(".pinframe-retry").waitFor();
    assert.equal(await view.frame.locator(".pinframe-pin").count(), 0);
    assert.deepEqual(await heard(view.page), ["error:service_unavailable"]);

    const set = await demo("#set-pin");
    await set.frame.locator("#pinframe-new-pin").pressSequentially("7294");
    await set.frame.locator("#pinframe-confirm-pin").pressSequentially("7294");
    await set.frame.locator(".pinframe-submit").click();
    await set.page.waitForFunction(() => window.__events.some((e) => e.event === "error"));
    await set.frame.locator(".pinframe-retry").waitFor();
    assert.deepEqual(await heard(set.page), ["error:service_unavailable"]);
    assert.equal(await set.frame.locator("#pinframe-new-pin").inputValue(), "7294");

    // The service answers: its own endpoints work, and the widget API says 503.
    assert.equal((await fetch(`${server.url}/.well-known/jwks.json`)).status, 200);
    const { token } = await issueToken(server.url, {}, tokens);
    const { publicKey, privateKey } = await jose.generateKeyPair("ECDH-ES", { crv: "P-256", extractable: true });
    const epk = await jose.exportJWK(publicKey);
    const down = await bearerPost(server.url, "/api/v1/pin/view", token, { epk });
    assert.equal(down.status, 503);
    assert.equal((await down.json()).error, "cms_unavailable");

    // The CMS comes back on the same address: the same token still views the PIN (not consumed),
    // and so does the page's Try again; then the set form's Try again sets what was typed.
    await startTheCms(address);
    const answer = await bearerPost(server.url, "/api/v1/pin/view", token, { epk });
    assert.equal(answer.status, 200);
    const { plaintext } = await jose.compactDecrypt((await answer.json()).encryptedPin, privateKey);
    assert.equal(JSON.parse(new TextDecoder().decode(plaintext)).pin, "5813");
    await view.frame.locator(".pinframe-retry").click();
    await view.frame.locator(".pinframe-pin").waitFor();
    assert.equal(await view.frame.locator(".pinframe-pin").textContent(), "5813");
    assert.deepEqual(await heard(view.page), ["error:service_unavailable", "view_pin_success"]);
    await view.context.close();

    const counter = cms.changeCounter();
    await set.frame.locator(".pinframe-retry").click();
    await set.page.waitForFunction(() => window.__events.some((e) => e.event === "set_pin_success"));
    assert.deepEqual(await heard(set.page), ["error:service_unavailable", "set_pin_success"]);
    assert.equal(cms.changeCounter(), counter + 1);
    await set.context.close();
  });

  test("no secret reached either process's log", () => {
    const secrets = [...tokens, ...server.keyMaterial(), DEMO.clientSecret, SECRET];
    for (const file of ["cms-key.jwk", "signing-key.jwk"]) {
      secrets.push(JSON.parse(readFileSync(join(root, "cms", file), "utf8")).d);
    }
    // The service's stdout is the demo banner, which prints the demo's credentials by design.
    const logs = server.out.stderr + cms.out.stdout + cms.out.stderr + firstCmsOutput;
    for (const secret of secrets) {
      const at = logs.indexOf(secret);
      assert.ok(at < 0, `a secret in the logs: …${logs.slice(Math.max(0, at - 200), at)}`);
    }
    // As a number of its own: not inside a latency, a port or a random id.
    for (const pin of ["5813", "7294"]) {
      const at = logs.search(new RegExp(`(?<![0-9A-Za-z._-])${pin}(?![0-9A-Za-z_-])`));
      assert.ok(at < 0, `PIN ${pin} in the logs: …${logs.slice(Math.max(0, at - 200), at + 20)}`);
    }
  });
});

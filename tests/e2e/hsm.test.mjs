// The service with its keys in an HSM (SoftHSM2, a fresh token under target/softhsm/): the key
// objects as PKCS#11 reports them (OpenSC's pkcs11-tool), a data directory without a private key,
// full view and set flows in headless Chromium, JWEs made by jwcrypto to the token-held key, ES256
// access tokens signed in the token verified by panva jose, and a rotation and retire in the token.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DEMO, bearerPost, bin, issueToken, jose, launchBrowser, newPage, startServer } from "./harness.mjs";

const root = resolve(import.meta.dirname, "../..");
const PYTHON = process.env.PINFRAME_PYTHON ?? join(root, "target/pyenv/bin/python");

mkdirSync(join(root, "target/softhsm"), { recursive: true });
const hsmDir = mkdtempSync(join(root, "target/softhsm/e2e-"));
/// A fresh SoftHSM2 token in `dir` labelled `label`: the environment a pinframe command needs.
function softhsmToken(dir, label) {
  const lines = execFileSync(join(root, "tools/softhsm-token.sh"), [dir, label]).toString().trim().split("\n");
  return Object.fromEntries(lines.map((line) => line.split(/=(.*)/s).slice(0, 2)));
}
const hsmEnv = softhsmToken(join(hsmDir, "token"), "pinframe-e2e");
const pin = readFileSync(hsmEnv.PINFRAME_PKCS11_PIN_FILE, "utf8").trim();

/// pkcs11-tool (OpenSC) on the token, logged in as its user.
function pkcs11Tool(args) {
  const base = ["--module", hsmEnv.PINFRAME_PKCS11_MODULE, "--token-label", hsmEnv.PINFRAME_PKCS11_TOKEN, "--login", "--pin", pin];
  return execFileSync("pkcs11-tool", [...base, ...args], { env: { ...process.env, ...hsmEnv }, stdio: ["ignore", "pipe", "pipe"] });
}

/// The token's private and secret key objects: label, and the access flags pkcs11-tool prints.
function keyObjects() {
  const listing = pkcs11Tool(["--list-objects"]).toString();
  return listing
    .split(/\n(?=\S)/)
    .filter((block) => /^(Private|Secret) Key Object/.test(block))
    .map((block) => ({
      label: block.match(/label:\s+(.*)/)?.[1].trim(),
      access: block.match(/Access:\s+(.*)/)?.[1].trim() ?? "",
    }));
}

const KEYS = [
  "pinframe/audit-key.hex",
  "pinframe/cms/cms-key.jwk",
  "pinframe/cms/kek.hex",
  "pinframe/data-key.hex",
  "pinframe/service-key.jwk",
  "pinframe/signing-key.jwk",
];

let server;
let browser;
before(async () => {
  server = await startServer({ env: hsmEnv });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(hsmDir, { recursive: true, force: true });
});

const post = (path, token, body) => bearerPost(server.url, path, token, body);

/// Every file under `dir`.
function filesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe("keys in SoftHSM2", () => {
  test("every private and secret key is in the token, sensitive and never extractable; no key file on disk", () => {
    const objects = keyObjects();
    assert.deepEqual(objects.map((o) => o.label).sort(), KEYS);
    for (const { label, access } of objects) {
      assert.match(access, /(^|, )sensitive(,|$)/, `${label}: CKA_SENSITIVE`);
      assert.match(access, /never extractable/, `${label}: CKA_EXTRACTABLE false since generation`);
    }
    // CKA_EXTRACTABLE true would print "extractable" on its own.
    for (const { label, access } of objects) assert.doesNotMatch(access, /(^|, )extractable(,|$)/, label);
    const files = filesUnder(server.dataDir);
    assert.ok(files.some((f) => f.endsWith("service.db")), "the data directory is the running service's");
    for (const file of files) {
      assert.doesNotMatch(file, /\.(jwk|hex)$/, `${file}: no key file`);
      assert.doesNotMatch(readFileSync(file).toString("latin1"), /"d"\s*:\s*"/, `${file}: no private JWK`);
    }
  });

  test("a full view in the browser shows the PIN the CMS holds (ECDH, KEK and data key in the token)", async () => {
    const { context, page } = await newPage(browser, () => {
      window.__calls = [];
      window.android_handler = { view_pin_success: () => window.__calls.push("view_pin_success") };
    });
    const { url } = await issueToken(server.url, {});
    await page.goto(url);
    await page.locator(".pinframe-pin").waitFor();
    assert.equal(await page.locator(".pinframe-pin").textContent(), DEMO.pin);
    await page.waitForFunction(() => window.__calls.length > 0);
    assert.deepEqual(await page.evaluate(() => window.__calls), ["view_pin_success"]);
    await context.close();
  });

  test("a full set in the browser, then a view shows the new PIN and the change counter moved by one", async () => {
    const before = server.changeCounter();
    const { context, page } = await newPage(browser, () => {
      window.__calls = [];
      window.android_handler = { set_pin_success: () => window.__calls.push("set_pin_success") };
    });
    const { url } = await issueToken(server.url, { action: "SET_PIN" });
    await page.goto(url);
    await page.locator("#pinframe-new-pin").pressSequentially("80461");
    await page.locator("#pinframe-confirm-pin").pressSequentially("80461");
    await page.locator(".pinframe-submit").click();
    await page.waitForFunction(() => window.__calls.length > 0);
    assert.deepEqual(await page.evaluate(() => window.__calls), ["set_pin_success"]);
    await context.close();
    assert.equal(server.changeCounter(), before + 1);
    assert.equal(await viewPin(), "80461");
  });

  test("a JWE made by jwcrypto to the token-held service key sets a PIN", async () => {
    const { token } = await issueToken(server.url, { action: "SET_PIN" });
    const session = await (await post("/api/v1/pin/session", token)).json();
    const jwkFile = join(hsmDir, "service-public.jwk");
    writeFileSync(jwkFile, JSON.stringify(session.encryptionJwk));
    const jwe = execFileSync(PYTHON, [join(root, "tools/oracle.py"), "jwcrypto-encrypt", jwkFile], { input: '{"pin":"5173"}' }).toString();
    assert.equal((await post("/api/v1/pin/set", token, { encryptedPin: jwe })).status, 204);
    assert.equal(await viewPin(), "5173");
  });

  test("an access token signed in the token verifies with panva jose against the token's public key", async () => {
    const auth = Buffer.from(`${DEMO.clientId}:${DEMO.clientSecret}`).toString("base64");
    const answer = await fetch(`${server.url}/oauth2/token`, {
      method: "POST",
      headers: { authorization: `Basic ${auth}`, "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=client_credentials",
    });
    assert.equal(answer.status, 200);
    const { access_token: jwt } = await answer.json();
    // The public key object, read out of the token as DER (SubjectPublicKeyInfo).
    const der = pkcs11Tool(["--read-object", "--type", "pubkey", "--label", "pinframe/signing-key.jwk"]);
    const pem = `-----BEGIN PUBLIC KEY-----\n${der.toString("base64")}\n-----END PUBLIC KEY-----`;
    const { payload, protectedHeader } = await jose.jwtVerify(jwt, await jose.importSPKI(pem, "ES256"));
    assert.equal(protectedHeader.alg, "ES256");
    assert.equal(payload.sub, DEMO.clientId);
    const other = await jose.generateKeyPair("ES256");
    await assert.rejects(jose.jwtVerify(jwt, other.publicKey), "another key does not verify it");
  });

  test("keys rotate and retire in the token; views work throughout", async () => {
    const keys = (args) =>
      execFileSync(bin, ["keys", ...args, "--data-dir", server.dataDir], { env: { ...process.env, ...hsmEnv } }).toString();
    const before = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()).keys.map((k) => k.kid);
    assert.match(keys(["rotate"]), /rotated pinframe\/service-key\.jwk: kid/);
    assert.deepEqual(
      keyObjects().map((o) => o.label).sort(),
      [
        ...KEYS,
        "pinframe/cms/cms-key.previous.jwk",
        "pinframe/cms/kek.previous.hex",
        "pinframe/data-key.previous.hex",
        "pinframe/service-key.previous.jwk",
        "pinframe/signing-key.previous.jwk",
      ].sort(),
    );
    for (const { label, access } of keyObjects()) assert.match(access, /never extractable/, label);
    await server.reload();
    const during = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()).keys.map((k) => k.kid);
    assert.equal(during.length, 2);
    assert.ok(during.includes(before[0]) && during[0] !== before[0], "the new key first, the previous one kept");
    assert.equal(await viewPin(), "5173", server.out.stderr.slice(-3000));

    assert.match(keys(["retire", "--force"]), /removed pinframe\/service-key\.previous\.jwk/);
    assert.deepEqual(keyObjects().map((o) => o.label).sort(), KEYS);
    await server.reload();
    const after = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()).keys.map((k) => k.kid);
    assert.deepEqual(after, [during[0]]);
    assert.equal(await viewPin(), "5173", "the PIN block and PAN were sealed again under the new KEK and data key");
    assert.ok(!existsSync(join(server.dataDir, "key-rotation.json")));
  });
});

describe("the audit trail with its key in the token", () => {
  test("export lists the views and sets above; verify checks the chain with the token's HMAC key", () => {
    const audit = (command) =>
      execFileSync(bin, ["audit", command, "--data-dir", server.dataDir], { env: { ...process.env, ...hsmEnv } }).toString();
    const events = audit("export").trim().split("\n").map((line) => JSON.parse(line).event);
    for (const event of ["token_issued", "session_opened", "pin_viewed", "pin_set", "key_rotated"]) {
      assert.ok(events.includes(event), `${event} in ${[...new Set(events)]}`);
    }
    assert.match(audit("verify"), /audit trail intact: \d+ records in 1 chains/);
    // Without the token the chain cannot be checked: the key is nowhere else.
    assert.throws(() => execFileSync(bin, ["audit", "verify", "--data-dir", server.dataDir], { stdio: "pipe" }), /key file \S+: missing/);
  });
});

describe("moving a deployment from key files to an HSM", () => {
  test("the old key files open what they sealed until retire re-seals it under the token's keys and removes them", async () => {
    const dataDir = mkdtempSync(join(hsmDir, "moving-"));
    const second = softhsmToken(join(hsmDir, "token-2"), "pinframe-e2e-2");
    // A deployment on key files, with a PIN set through it.
    const onFiles = await startServer({ dataDir, keepData: true });
    try {
      assert.equal(await setPin(onFiles, "2591"), 204);
    } finally {
      await onFiles.stop();
    }
    const keyFiles = filesUnder(dataDir).filter((f) => /\.(jwk|hex)$/.test(f));
    assert.equal(keyFiles.length, 6);

    const keys = (args) => execFileSync(bin, ["keys", ...args, "--data-dir", dataDir], { env: { ...process.env, ...second } }).toString();
    assert.match(keys(["init"]), /created pinframe\/service-key\.jwk \(HSM\)/);
    const onHsm = await startServer({ dataDir, env: second });
    try {
      assert.equal(await viewPinAt(onHsm), "2591", "the PAN and PIN block sealed under the file keys open");
      const retired = keys(["retire", "--force"]);
      assert.match(retired, /sealed 1 PANs under the current key/);
      assert.match(retired, /sealed 1 PIN blocks under the current key/);
      // Only the audit key stays: it checks the records chained before the move (docs/keys.md).
      assert.deepEqual(filesUnder(dataDir).filter((f) => /\.(jwk|hex)$/.test(f)), [join(dataDir, "audit-key.hex")]);
      await onHsm.reload();
      assert.equal(await viewPinAt(onHsm), "2591", "and what they sealed now opens under the token's keys alone");
    } finally {
      await onHsm.stop();
    }
  });
});

/// Sets the demo card's PIN on `at` as an outside client would (panva jose encrypts it).
async function setPin(at, newPin) {
  const { token } = await issueToken(at.url, { action: "SET_PIN" });
  const session = await (await bearerPost(at.url, "/api/v1/pin/session", token)).json();
  const key = await jose.importJWK(session.encryptionJwk, "ECDH-ES");
  const jwe = await new jose.CompactEncrypt(new TextEncoder().encode(JSON.stringify({ pin: newPin })))
    .setProtectedHeader({ alg: "ECDH-ES", enc: "A256GCM" })
    .encrypt(key);
  return (await bearerPost(at.url, "/api/v1/pin/set", token, { encryptedPin: jwe })).status;
}

/// Views the demo card's PIN as an outside client (panva jose makes the ephemeral key).
async function viewPin() {
  return viewPinAt(server);
}

async function viewPinAt(at) {
  const { token } = await issueToken(at.url, {});
  const { publicKey, privateKey } = await jose.generateKeyPair("ECDH-ES", { crv: "P-256", extractable: true });
  const answer = await bearerPost(at.url, "/api/v1/pin/view", token, { epk: await jose.exportJWK(publicKey) });
  assert.equal(answer.status, 200, at.out.stderr.split("\n").filter((l) => /WARN|ERROR/.test(l)).slice(-5).join("\n"));
  const { plaintext } = await jose.compactDecrypt((await answer.json()).encryptedPin, privateKey);
  return JSON.parse(new TextDecoder().decode(plaintext)).pin;
}

// The audit trail against the real binary: one `pinframe serve --demo` is driven through every
// security event over HTTP (token, session, view, set, refused sets, a token left to expire, wrong
// client secrets until the rate limit answers 429, `pinframe keys rotate` and SIGHUP); then
// `pinframe audit export` must hold each event and none of the test's PINs, tokens, PAN, client
// secrets or key material, `pinframe audit verify` must pass, and after one record is changed and
// another deleted with SQLite it must fail naming the first broken record.
import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { DEMO, basicAuth, bearerPost, bin, explain, jose, keyMaterial, request, sleep, startService } from "./harness.mjs";

const PAN = "5555555551234567";
const REPLICA = "audit-e2e-1";
const NEW_PIN = "739251";
const WRONG_SECRETS = Array.from({ length: 12 }, (_, i) => `wrong-secret-${i}-${Math.random().toString(36).slice(2)}`);
const EVENTS = [
  "token_issued",
  "session_opened",
  "pin_viewed",
  "pin_set",
  "pin_set_refused",
  "token_expired_unused",
  "client_auth_failed",
  "rate_limited",
  "key_rotated",
];

/// `pinframe audit ARGS --data-dir DIR`: its status, stdout and stderr.
function audit(dataDir, ...args) {
  const run = spawnSync(bin, ["audit", ...args, "--data-dir", dataDir], { encoding: "utf8", timeout: 30_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function exported(dataDir) {
  const run = audit(dataDir, "export");
  assert.equal(run.status, 0, `audit export: ${run.stderr}`);
  return run.stdout.split("\n").filter(Boolean).map((line) => JSON.parse(line));
}

/// A PIN-control token for the demo card, with a correlation id of the test's.
async function issue(base, action, correlation) {
  const answer = await request(`${base}/api/v1/pin-control/tokens`, {
    method: "POST",
    headers: { authorization: basicAuth(DEMO.clientId, DEMO.clientSecret), "content-type": "application/json", "x-correlation-id": correlation },
    body: JSON.stringify({ cardId: DEMO.card, action }),
  });
  assert.equal(answer.status, 201, `token: ${explain(answer, 201)}`);
  return answer.json.token;
}

describe("audit trail", () => {
  let service;
  const tokens = [];

  before(async () => {
    service = await startService({ args: ["--token-ttl", "10", "--auth-failure-limit", "3", "--replica-id", REPLICA], keepData: true });
  });
  after(async () => {
    await service?.stop();
    if (service) rmSync(service.dataDir, { recursive: true, force: true });
  });

  test("every event is recorded, nothing secret is, and verify names the first changed or deleted record", async () => {
    const base = service.url;
    const keys = [...keyMaterial(service.dataDir), readFileSync(join(service.dataDir, "audit-key.hex"), "utf8").trim()];

    // View: token, session, view.
    const view = await issue(base, "VIEW_PIN", "audit-e2e-view");
    tokens.push(view);
    const session = await bearerPost(base, "/api/v1/pin/session", view);
    assert.equal(session.status, 200, `session: ${explain(session, 200)}`);
    const { publicKey } = await jose.generateKeyPair("ECDH-ES", { crv: "P-256", extractable: true });
    const viewed = await request(`${base}/api/v1/pin/view`, {
      method: "POST",
      headers: { authorization: `Bearer ${view}`, "content-type": "application/json", "x-correlation-id": "audit-e2e-viewpin" },
      body: JSON.stringify({ epk: await jose.exportJWK(publicKey) }),
    });
    assert.equal(viewed.status, 200, `view: ${explain(viewed, 200)}`);

    // Set: a refusal by policy, one of an undecryptable JWE, then a PIN set.
    const set = await issue(base, "SET_PIN", "audit-e2e-set");
    tokens.push(set);
    const { encryptionJwk } = (await bearerPost(base, "/api/v1/pin/session", set)).json;
    const key = await jose.importJWK(encryptionJwk, "ECDH-ES");
    const jwe = async (pin) =>
      new jose.CompactEncrypt(new TextEncoder().encode(JSON.stringify({ pin })))
        .setProtectedHeader({ alg: "ECDH-ES", enc: "A256GCM" })
        .encrypt(key);
    const short = await bearerPost(base, "/api/v1/pin/set", set, { encryptedPin: await jwe("12") });
    assert.equal(short.status, 422, `a too short PIN: ${explain(short, 422)}`);
    const garbled = await bearerPost(base, "/api/v1/pin/set", set, { encryptedPin: "not.a.jwe.at.all" });
    assert.equal(garbled.status, 400, `an undecryptable JWE: ${explain(garbled, 400)}`);
    const done = await bearerPost(base, "/api/v1/pin/set", set, { encryptedPin: await jwe(NEW_PIN) });
    assert.equal(done.status, 204, `set: ${explain(done, 204)}`);

    // A token nobody uses: it expires after 10 s and the sweep records it.
    tokens.push(await issue(base, "VIEW_PIN", "audit-e2e-unused"));

    // Wrong client secrets until the rate limit answers 429.
    let limited = false;
    for (const secret of WRONG_SECRETS) {
      const answer = await request(`${base}/api/v1/pin-control/tokens`, {
        method: "POST",
        headers: { authorization: basicAuth(DEMO.clientId, secret), "content-type": "application/json" },
        body: JSON.stringify({ cardId: DEMO.card, action: "VIEW_PIN" }),
      });
      assert.ok([401, 429].includes(answer.status), `a wrong secret: ${explain(answer, "401 or 429")}`);
      if (answer.status === 429) {
        limited = true;
        break;
      }
    }
    assert.ok(limited, "the failed-authentication limit (3 a minute) never answered 429");

    // A key rotation, picked up by SIGHUP.
    const before = keyMaterial(service.dataDir);
    execFileSync(bin, ["keys", "rotate", "--data-dir", service.dataDir]);
    keys.push(...keyMaterial(service.dataDir), ...before);
    const reloads = (service.out.stderr.match(/keys reloaded/g) ?? []).length;
    service.child.kill("SIGHUP");
    const reloadBy = Date.now() + 10_000;
    while ((service.out.stderr.match(/keys reloaded/g) ?? []).length === reloads) {
      assert.ok(Date.now() < reloadBy, "no reload after SIGHUP");
      await sleep(20);
    }

    // Wait for the expiry sweep (every 10 s) to record the unused token, and for the rotation.
    let records = [];
    const deadline = Date.now() + 45_000;
    for (;;) {
      records = exported(service.dataDir);
      const seen = new Set(records.map((r) => r.event));
      if (EVENTS.every((e) => seen.has(e))) break;
      assert.ok(Date.now() < deadline, `events missing from the export: ${EVENTS.filter((e) => !seen.has(e)).join(", ")}`);
      await sleep(500);
    }
    await service.stop();

    // What the records say.
    assert.ok(records.every((r) => r.replica === REPLICA), "every record carries the replica id");
    const seqs = records.map((r) => r.seq);
    assert.deepEqual(seqs, seqs.map((_, i) => i + 1), "one chain, seq 1, 2, 3, …");
    const viewedRecord = records.find((r) => r.event === "pin_viewed");
    assert.equal(viewedRecord.correlationId, "audit-e2e-viewpin");
    assert.equal(viewedRecord.issuerId, DEMO.issuer);
    assert.equal(viewedRecord.cardId, DEMO.card);
    assert.equal(viewedRecord.source, "127.0.0.1");
    const reasons = records.filter((r) => r.event === "pin_set_refused").map((r) => r.detail);
    assert.ok(reasons.some((d) => /^reason=\w+$/.test(d) && d !== "reason=invalid_encrypted_pin"), `a policy reason: ${reasons}`);
    assert.ok(reasons.includes("reason=invalid_encrypted_pin"), `the JWE refusal: ${reasons}`);
    assert.deepEqual(
      records.filter((r) => r.event === "pin_set").map((r) => r.outcome),
      ["started", "ok"],
    );
    assert.equal(records.filter((r) => r.event === "rate_limited").length, 1, "a run of 429s is one record");
    assert.ok(records.filter((r) => r.event === "client_auth_failed").length >= 3);

    // Nothing secret: anywhere in the export for long secrets, in its text fields for PINs (a
    // 4-digit PIN can occur in a hex MAC or a time by chance).
    const text = records.map((r) => JSON.stringify(r)).join("\n");
    for (const secret of [...tokens, PAN, DEMO.clientSecret, ...WRONG_SECRETS, ...keys]) {
      assert.ok(secret.length >= 8 && !text.includes(secret), "a token, PAN, client secret or key appears in the export");
    }
    const fields = records
      .map((r) => [r.replica, r.event, r.outcome, r.issuerId, r.cardId, r.clientId, r.source, r.correlationId, r.detail].join(" "))
      .join("\n");
    for (const pin of [DEMO.pin, NEW_PIN]) {
      assert.ok(!fields.split(/[^0-9]+/).includes(pin), "a PIN appears in the export");
    }

    // Intact, then broken at the first changed record (and not later at the deleted one).
    const ok = audit(service.dataDir, "verify");
    assert.equal(ok.status, 0, `verify before tampering: ${ok.stderr}`);
    const changed = 3;
    const deleted = records.length - 2;
    const sql =
      "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); " +
      `c.execute("UPDATE audit_log SET outcome = 'refused' WHERE seq = ${changed}"); ` +
      `c.execute("DELETE FROM audit_log WHERE seq = ${deleted}"); c.commit()`;
    execFileSync("python3", ["-c", sql, join(service.dataDir, "service.db")]);
    const broken = audit(service.dataDir, "verify");
    assert.equal(broken.status, 1, `verify after tampering should exit 1: ${broken.stdout}${broken.stderr}`);
    assert.match(broken.stderr, new RegExp(`replica ${REPLICA} seq ${changed}:`), broken.stderr);
    assert.doesNotMatch(broken.stderr, new RegExp(`seq ${deleted + 1}:`), "only each chain's first broken record");

    // With the changed record put back, the deletion is what verify names.
    const restore = `import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("UPDATE audit_log SET outcome = '${records[changed - 1].outcome}' WHERE seq = ${changed}"); c.commit()`;
    execFileSync("python3", ["-c", restore, join(service.dataDir, "service.db")]);
    const gap = audit(service.dataDir, "verify");
    assert.equal(gap.status, 1, `verify with a deleted record should exit 1: ${gap.stderr}`);
    assert.match(gap.stderr, new RegExp(`replica ${REPLICA} seq ${deleted + 1}: the record before it`), gap.stderr);
  });
});

// Input and file-system hardening: an ephemeral key that carries its private part (`d`) is refused
// with 400 invalid_epk, in a view request's `epk` and in a set-PIN JWE's protected header; and the
// database files are 0600 and the data directories 0700 after start, also when they were left 0644
// and 0755 before it, for the service with its embedded CMS and for `pinframe cms` alone.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createCipheriv, createHash, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEMO, bearerPost, bin, explain, jose, pinControlToken, startCms, startService, viewFlow } from "./harness.mjs";

// What a service would get from an ordinary shell: files 0644 and directories 0755 unless it says otherwise.
process.umask(0o022);

const b64u = (bytes) => Buffer.from(bytes).toString("base64url");
const u32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

/// A compact JWE (ECDH-ES, A256GCM; RFC 7518 §4.6) of `plaintext` to the P-256 public JWK
/// `recipient`, made by hand so that the protected header's `epk` can carry the ephemeral key's
/// private part `d`, which no JOSE library would put there.
function handmadeJwe(recipient, plaintext, { withD }) {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const { kty, crv, x, y, d } = privateKey.export({ format: "jwk" });
  const { kty: rk, crv: rc, x: rx, y: ry } = recipient;
  const z = diffieHellman({ privateKey, publicKey: createPublicKey({ key: { kty: rk, crv: rc, x: rx, y: ry }, format: "jwk" }) });
  const header = { alg: "ECDH-ES", enc: "A256GCM", epk: withD ? { kty, crv, x, y, d } : { kty, crv, x, y } };
  if (recipient.kid) header.kid = recipient.kid;
  // Concat KDF (NIST SP 800-56A, RFC 7518 §4.6.2): one SHA-256 round gives the 256-bit key.
  const algorithmId = Buffer.from("A256GCM");
  const otherInfo = Buffer.concat([u32(algorithmId.length), algorithmId, u32(0), u32(0), u32(256)]);
  const cek = createHash("sha256").update(Buffer.concat([u32(1), z, otherInfo])).digest();
  const protectedHeader = b64u(JSON.stringify(header));
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", cek, iv);
  cipher.setAAD(Buffer.from(protectedHeader, "ascii"));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return `${protectedHeader}..${b64u(iv)}.${b64u(ciphertext)}.${b64u(cipher.getAuthTag())}`;
}

async function issued(base, action) {
  const answer = await pinControlToken(base, action);
  assert.equal(answer.status, 201, `token issue: ${explain(answer, 201)}`);
  return answer.json.token;
}

describe("an ephemeral key with its private part is refused", () => {
  let service;
  before(async () => (service = await startService()));
  after(async () => service?.stop());

  test("view: an epk with d gives 400 invalid_epk; the same flow with the public part alone succeeds", async () => {
    const { privateKey } = await jose.generateKeyPair("ECDH-ES", { crv: "P-256", extractable: true });
    const epkWithD = await jose.exportJWK(privateKey);
    assert.ok(epkWithD.d, "the JWK sent carries d");
    const refused = await bearerPost(service.url, "/api/v1/pin/view", await issued(service.url, "VIEW_PIN"), { epk: epkWithD });
    assert.equal(refused.status, 400, `an epk with d: ${explain(refused, "400 invalid_epk")}`);
    assert.equal(refused.json?.error, "invalid_epk", `an epk with d: ${explain(refused, "400 invalid_epk")}`);

    const control = await viewFlow(service.url);
    assert.ok(control.ok, `the same service, a public epk: the view flow should succeed; ${control.failure}`);
  });

  test("set PIN: a JWE whose protected header's epk has d gives 400 invalid_epk; the same JWE without d sets the PIN", async () => {
    const token = await issued(service.url, "SET_PIN");
    const session = await bearerPost(service.url, "/api/v1/pin/session", token);
    assert.equal(session.status, 200, `session: ${explain(session, 200)}`);
    const { encryptionJwk } = session.json;
    const plaintext = Buffer.from(JSON.stringify({ pin: "7392" }));

    const refused = await bearerPost(service.url, "/api/v1/pin/set", token, { encryptedPin: handmadeJwe(encryptionJwk, plaintext, { withD: true }) });
    assert.equal(refused.status, 400, `a JWE header epk with d: ${explain(refused, "400 invalid_epk")}`);
    assert.equal(refused.json?.error, "invalid_epk", `a JWE header epk with d: ${explain(refused, "400 invalid_epk")}`);

    // The control: the hand-made JWE is right in every other respect.
    const accepted = await bearerPost(service.url, "/api/v1/pin/set", await issued(service.url, "SET_PIN"), {
      encryptedPin: handmadeJwe(encryptionJwk, plaintext, { withD: false }),
    });
    assert.equal(accepted.status, 204, `the same hand-made JWE without d: ${explain(accepted, 204)}`);
  });
});

/// `{path: mode}` of what is there among `paths` (relative to `dir`), modes as octal strings.
function modes(dir, paths) {
  const found = {};
  for (const path of paths) {
    const full = join(dir, path);
    if (existsSync(full)) found[path] = (statSync(full).mode & 0o777).toString(8).padStart(4, "0");
  }
  return found;
}

/// Checks the modes of the directories (0700) and database files (0600, and their -wal and -shm
/// when present) under `dir`; every database file must exist.
function checkModes(dir, { dirs, databases }, when) {
  const files = databases.flatMap((db) => [db, `${db}-wal`, `${db}-shm`]);
  const measured = modes(dir, [...dirs, ...files]);
  for (const path of [...dirs, ...databases]) assert.ok(measured[path], `${when}: ${path} does not exist`);
  const expected = Object.fromEntries(Object.keys(measured).map((p) => [p, dirs.includes(p) ? "0700" : "0600"]));
  assert.deepEqual(measured, expected, `${when}: expected directories 0700 and database files 0600, measured ${JSON.stringify(measured)}`);
  return measured;
}

/// What a careless operator (or an older version) leaves: directories 0755, database files 0644.
function loosen(dir, { dirs, databases }) {
  for (const path of dirs) chmodSync(join(dir, path), 0o755);
  for (const db of databases) {
    for (const file of [db, `${db}-wal`, `${db}-shm`]) if (existsSync(join(dir, file))) chmodSync(join(dir, file), 0o644);
  }
  return modes(dir, [...dirs, ...databases.flatMap((db) => [db, `${db}-wal`, `${db}-shm`])]);
}

describe("database files are 0600 and data directories 0700 after start", () => {
  const parent = mkdtempSync(join(tmpdir(), "pinframe-ops-modes-"));
  after(() => rmSync(parent, { recursive: true, force: true }));

  test("pinframe serve --demo (service.db, cms/cms.db): created fresh, then again after they were left 0644/0755", async (t) => {
    const dataDir = join(parent, "data");
    const layout = { dirs: [".", "cms"], databases: ["service.db", "cms/cms.db"] };
    for (const round of ["fresh data directory", "restart after chmod 0755/0644"]) {
      const service = await startService({ dataDir, keepData: true });
      try {
        const flow = await viewFlow(service.url); // both databases are read and written
        assert.ok(flow.ok, flow.failure);
        t.diagnostic(`${round}: ${JSON.stringify(modes(dataDir, [...layout.dirs, ...layout.databases.flatMap((d) => [d, `${d}-wal`, `${d}-shm`])]))}`);
        checkModes(dataDir, layout, round);
      } finally {
        await service.stop();
      }
      t.diagnostic(`loosened after the stop: ${JSON.stringify(loosen(dataDir, layout))}`);
    }
  });

  test("pinframe cms (cms.db): created fresh, then again after it was left 0644/0755", async (t) => {
    const keyFile = join(parent, "service-key.jwk");
    writeFileSync(keyFile, execFileSync(bin, ["keys", "generate"]), { mode: 0o600 });
    const publicJwk = join(parent, "service-public.jwk");
    writeFileSync(publicJwk, execFileSync(bin, ["keys", "public", "--jwk", keyFile]));
    const dataDir = join(parent, "cms-data");
    const layout = { dirs: ["."], databases: ["cms.db"] };
    for (const round of ["fresh data directory", "restart after chmod 0755/0644"]) {
      const cms = await startCms({ dataDir, recipientJwk: publicJwk, secret: randomBytes(16).toString("hex") });
      try {
        t.diagnostic(`${round}: ${JSON.stringify(modes(dataDir, [".", "cms.db", "cms.db-wal", "cms.db-shm"]))}`);
        checkModes(dataDir, layout, round);
      } finally {
        await cms.stop();
      }
      t.diagnostic(`loosened after the stop: ${JSON.stringify(loosen(dataDir, layout))}`);
    }
  });
});

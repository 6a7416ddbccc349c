// Shared by the multi-replica tests (and bench/run.mjs): a fresh database in the private PostgreSQL
// cluster of PINFRAME_TEST_DATABASE_URL, the deployment's key files made once (`pinframe keys init`)
// and copied to each replica as a mounted secret would be, replicas of `pinframe serve
// --database-url … --demo`, HAProxy with deploy/haproxy.cfg in front of them, and the calls an
// issuer backend and the widget make (token, session, view, set) with panva jose for the JWEs.
// Nothing here needs a browser.
import { execFile, execFileSync, spawn } from "node:child_process";
import { after, before } from "node:test";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { randomInt } from "node:crypto";
import { promisify } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";

import { DEMO, bin, freePort, jose } from "../e2e/harness.mjs";

export const root = resolve(import.meta.dirname, "../..");
export { DEMO, bin, freePort, jose, sleep };
export const DATABASE_URL = process.env.PINFRAME_TEST_DATABASE_URL;
export const PGCLUSTER = process.env.PINFRAME_TEST_PGCLUSTER;
/// `false`, or why the tests of a file cannot run (node:test's `skip` option takes it as the message).
export const skip = DATABASE_URL
  ? false
  : "PINFRAME_TEST_DATABASE_URL is not set: these tests need a PostgreSQL cluster (run them under tools/with-postgres.sh, as `make test` does)";

const LOG = "info,sqlx=warn";
const now = () => performance.now();
export { now };

// ---------------------------------------------------------------------------------------------
// Processes: every child is remembered, so that an `after` hook (or the process's exit, whatever
// happened) can end it.

const children = new Set();
process.on("exit", () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

function track(child) {
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}

const exited = (child) => child.exitCode !== null || child.signalCode !== null;

/// Ends a child: SIGTERM, then SIGKILL if it is still there after `graceMs`.
export async function stopChild(child, graceMs = 5000) {
  if (!child || exited(child)) return;
  const gone = new Promise((ok) => child.once("exit", ok));
  child.kill("SIGTERM");
  const timer = setTimeout(() => !exited(child) && child.kill("SIGKILL"), graceMs);
  await gone;
  clearTimeout(timer);
}

/// Spawns `program ARGS`, keeps what it prints, and resolves once `ready(out)` returns a value
/// (polled every 20 ms) with `{child, out, value}`. When the child exits first, the error carries
/// its `exitCode`, `signal` and `out`.
async function spawnUntil(program, args, env, ready, what, timeoutMs = 30_000) {
  const child = track(spawn(program, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } }));
  const out = { stdout: "", stderr: "" };
  child.stdout.on("data", (d) => (out.stdout += d));
  child.stderr.on("data", (d) => (out.stderr += d));
  const value = await new Promise((ok, fail) => {
    let settled = false;
    const done = (f, v) => {
      if (settled) return;
      settled = true;
      clearInterval(poll);
      clearTimeout(timer);
      // A child that never got ready is ended here: nobody else holds it.
      if (f === fail && !exited(child)) child.kill("SIGKILL");
      f(v);
    };
    const timer = setTimeout(() => done(fail, new Error(`${what} did not start in ${timeoutMs} ms:\n${out.stdout}\n${out.stderr}`)), timeoutMs);
    child.on("error", (e) => done(fail, new Error(`${what}: ${e.message}`)));
    child.on("exit", (code, signal) =>
      done(fail, Object.assign(new Error(`${what} exited (${code ?? signal}) before it was ready:\n${out.stdout}\n${out.stderr}`), { exitCode: code, signal, out })),
    );
    const poll = setInterval(async () => {
      try {
        const v = await ready(out);
        if (v !== undefined && v !== null && v !== false) done(ok, v);
      } catch {
        // not yet
      }
    }, 20);
  });
  return { child, out, value };
}


// ---------------------------------------------------------------------------------------------
// PostgreSQL

/// Runs one SQL statement with psql against `url` and returns its unaligned output.
export function psql(url, sql) {
  return execFileSync("psql", [url, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql], {
    stdio: ["ignore", "pipe", "pipe"],
  })
    .toString()
    .trim();
}

/// A fresh database in the test cluster, named after `tag`; `drop()` removes it (and ends its
/// sessions). Its `url` is the cluster's URL with the database in the path.
export function createDatabase(tag) {
  if (!DATABASE_URL) throw new Error(skip);
  const name = `pinframe_${tag}_${process.pid}_${Date.now() % 1e8}`.toLowerCase().replace(/[^a-z0-9_]/g, "_");
  psql(DATABASE_URL, `CREATE DATABASE "${name}"`);
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop() {
      psql(DATABASE_URL, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/// The demo card's PIN change counter, read from the embedded CMS's table in `databaseUrl`.
export function changeCounter(databaseUrl, card = DEMO.card) {
  const value = psql(
    databaseUrl,
    `SELECT change_counter FROM pinframe_cms.cms_pins WHERE issuer_id = '${DEMO.issuer}' AND card_id = '${card}'`,
  );
  if (!/^\d+$/.test(value)) throw new Error(`no change counter for ${card}: ${JSON.stringify(value)}`);
  return Number(value);
}

/// `tools/pgcluster.sh ACTION PINFRAME_TEST_PGCLUSTER [MODE]`, asynchronously (load keeps running).
export async function pgcluster(action, mode) {
  if (!PGCLUSTER) throw new Error("PINFRAME_TEST_PGCLUSTER is not set");
  const args = [join(root, "tools/pgcluster.sh"), action, PGCLUSTER];
  if (mode) args.push(mode);
  await promisify(execFile)("bash", args, { cwd: root, timeout: 60_000 });
}

// ---------------------------------------------------------------------------------------------
// The deployment

/// `pinframe keys init` into a fresh directory: the key files every replica gets a copy of.
export function keysInit() {
  const dir = mkdtempSync(join(tmpdir(), "pinframe-keys-"));
  execFileSync(bin, ["keys", "init", "--data-dir", dir], { stdio: ["ignore", "pipe", "pipe"] });
  return dir;
}

/// Starts one replica: `pinframe serve --database-url URL --data-dir COPY --demo` on `listen`
/// (default a free port), its data directory a copy of `keysDir`. With `urlInEnv`, the URL goes in
/// PINFRAME_DATABASE_URL instead, as a deployment gives one with a password (a process list shows
/// arguments). Resolves once it prints the address it listens on.
export async function startReplica({ name = "replica", databaseUrl, urlInEnv = false, keysDir, publicUrl, demo = true, databaseWait, listen = "127.0.0.1:0", env = {} }) {
  const dataDir = mkdtempSync(join(tmpdir(), "pinframe-replica-"));
  cpSync(keysDir, dataDir, { recursive: true });
  const args = ["serve", "--data-dir", dataDir, "--listen", listen, "--widget-dir", join(root, "dist")];
  if (urlInEnv) env = { ...env, PINFRAME_DATABASE_URL: databaseUrl };
  else args.push("--database-url", databaseUrl);
  if (publicUrl) args.push("--public-url", publicUrl);
  if (demo) args.push("--demo");
  if (databaseWait !== undefined) args.push("--database-wait", String(databaseWait));
  let started;
  try {
    started = await spawnUntil(
      bin,
      args,
      { PINFRAME_LOG: LOG, ...env },
      (o) => o.stdout.match(/pinframe listening on (http:\/\/\S+)/)?.[1],
      `${name} (pinframe serve)`,
    );
  } catch (e) {
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  const { child, out, value: url } = started;
  return {
    name,
    url,
    hostPort: new URL(url).host,
    dataDir,
    child,
    out,
    /// kill -9: the replica dies without a word, mid-request.
    kill() {
      child.kill("SIGKILL");
    },
    async stop() {
      await stopChild(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/// Starts HAProxy with deploy/haproxy.cfg, unchanged, on 127.0.0.1:`port` in front of `replicas`;
/// resolves once `/readyz` answers 200 through it.
export async function startHaproxy({ port, replicas }) {
  const env = { PINFRAME_LB_BIND: `127.0.0.1:${port}` };
  replicas.forEach((r, i) => (env[`PINFRAME_REPLICA_${i + 1}`] = r.hostPort));
  const url = `http://127.0.0.1:${port}`;
  const { child, out } = await spawnUntil(
    "haproxy",
    ["-f", join(root, "deploy/haproxy.cfg"), "-db"],
    env,
    async () => (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) })).status === 200,
    "haproxy (ready once /readyz answers 200 through it)",
    15_000,
  );
  return {
    url,
    child,
    out,
    async stop() {
      await stopChild(child);
    },
  };
}

/// A deployment for one test file: a fresh database, the key files, `replicas` replicas started at
/// once (so the demo seeding runs concurrently) and HAProxy. `stop()` ends every process, drops the
/// database and removes the directories, whatever state they are in.
export async function startDeployment({ tag, replicas = 2, databaseWait, haproxy = true, env } = {}) {
  const deployment = { db: createDatabase(tag), keysDir: null, replicas: [], lb: null };
  deployment.stop = async () => {
    await deployment.lb?.stop().catch(() => {});
    await Promise.all(deployment.replicas.map((r) => r.stop().catch(() => {})));
    try {
      deployment.db.drop();
    } catch (e) {
      process.stderr.write(`could not drop ${deployment.db.name}: ${e.message}\n`);
    }
    if (deployment.keysDir) rmSync(deployment.keysDir, { recursive: true, force: true });
  };
  try {
    deployment.keysDir = keysInit();
    const lbPort = haproxy ? await freePort() : null;
    const publicUrl = haproxy ? `http://127.0.0.1:${lbPort}` : undefined;
    const started = await Promise.allSettled(
      Array.from({ length: replicas }, (_, i) =>
        startReplica({ name: `replica ${i + 1}`, databaseUrl: deployment.db.url, keysDir: deployment.keysDir, publicUrl, databaseWait, env }),
      ),
    );
    deployment.replicas = started.filter((s) => s.status === "fulfilled").map((s) => s.value);
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
    if (haproxy) deployment.lb = await startHaproxy({ port: lbPort, replicas: deployment.replicas });
  } catch (e) {
    await deployment.stop();
    throw e;
  }
  return deployment;
}

/// For a test file: the deployment is started before its tests and stopped after them, even when
/// one fails. The returned object's fields are set once `before` has run.
/// Nothing is started when the tests are skipped (`skip`, or `options.skip`).
export function useDeployment(options = {}) {
  const running = {};
  before(async () => {
    if (!skip && !options.skip) Object.assign(running, await startDeployment(options));
  });
  after(async () => {
    await running.stop?.();
  });
  return running;
}

/// What each replica printed (stderr, the JSON logs), for a failure message.
export function logsOf(deployment) {
  return deployment.replicas.map((r) => `--- ${r.name} (${r.url}) stderr tail:\n${r.out.stderr.slice(-4000)}`).join("\n");
}

// ---------------------------------------------------------------------------------------------
// HTTP: each call resolves with what came back (never throws on a status or a transport error)
// and how long it took.

/// `{status, headers, text, json, ms, start, end, error}`; `status` is 0 and `error` set when no
/// answer came (refused, reset, timed out).
export async function call(base, path, { method = "POST", headers = {}, body, timeoutMs = 20_000 } = {}) {
  const start = now();
  try {
    const response = await fetch(`${base}${path}`, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
    const text = await response.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json, start, end: now(), ms: now() - start };
  } catch (error) {
    return { status: 0, error: String(error.cause?.code ?? error.cause?.message ?? error.message), start, end: now(), ms: now() - start };
  }
}

const basic = `Basic ${Buffer.from(`${DEMO.clientId}:${DEMO.clientSecret}`).toString("base64")}`;

/// The issuer backend: `POST /api/v1/pin-control/tokens` for the demo card. The answer's `token`
/// is set on a 201.
export async function issueToken(base, action = "VIEW_PIN") {
  const answer = await call(base, "/api/v1/pin-control/tokens", {
    headers: { authorization: basic, "content-type": "application/json" },
    body: JSON.stringify({ cardId: DEMO.card, action }),
  });
  if (answer.status === 201) answer.token = answer.json.token;
  return answer;
}

/// As `issueToken`, but throws unless the answer is 201; resolves with the token.
export async function mustIssue(base, action = "VIEW_PIN") {
  const answer = await issueToken(base, action);
  if (answer.status !== 201) throw new Error(`token request to ${base}: ${answer.status} ${answer.error ?? answer.text}`);
  return answer.token;
}

export function bearer(base, path, token, body) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  return call(base, path, { headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

/// A widget key: the ephemeral P-256 pair whose public half goes in a view request.
export async function widgetKey() {
  const { publicKey, privateKey } = await jose.generateKeyPair("ECDH-ES", { crv: "P-256", extractable: true });
  return { epk: await jose.exportJWK(publicKey), privateKey };
}

/// `POST /api/v1/pin/view` with `key` (a fresh one by default); on a 200 the answer's `pin` is the
/// decrypted PIN.
export async function view(base, token, key) {
  key ??= await widgetKey();
  const answer = await bearer(base, "/api/v1/pin/view", token, { epk: key.epk });
  if (answer.status === 200) {
    const { plaintext } = await jose.compactDecrypt(answer.json.encryptedPin, key.privateKey);
    answer.pin = JSON.parse(new TextDecoder().decode(plaintext)).pin;
  }
  return answer;
}

/// `POST /api/v1/pin/session`: for a SET_PIN token, the service's `encryptionJwk` and `pinPolicy`.
export async function session(base, token) {
  return bearer(base, "/api/v1/pin/session", token);
}

/// `{"pin": pin}` as the widget sends it: a compact JWE (ECDH-ES, A256GCM) to `jwk`.
export async function encryptPin(jwk, pin) {
  const key = await jose.importJWK(jwk, "ECDH-ES");
  return new jose.CompactEncrypt(new TextEncoder().encode(JSON.stringify({ pin })))
    .setProtectedHeader({ alg: "ECDH-ES", enc: "A256GCM", kid: jwk.kid })
    .encrypt(key);
}

/// `POST /api/v1/pin/set` of `pin`, encrypted to `jwk` (the session's `encryptionJwk`).
export async function setPin(base, token, jwk, pin) {
  return bearer(base, "/api/v1/pin/set", token, { encryptedPin: await encryptPin(jwk, pin) });
}

/// The service's encryption key, as a SET_PIN session gives it (the session does not use the token up).
export async function serviceJwk(base) {
  const token = await mustIssue(base, "SET_PIN");
  const answer = await session(base, token);
  if (answer.status !== 200) throw new Error(`session: ${answer.status} ${answer.text}`);
  return answer.json.encryptionJwk;
}

/// Views the PIN once (issue + view through `base`); throws unless both succeed.
export async function currentPin(base) {
  const answer = await view(base, await mustIssue(base));
  if (answer.status !== 200) throw new Error(`view: ${answer.status} ${answer.error ?? answer.text}`);
  return answer.pin;
}

/// A six-digit PIN the demo issuer's policy (4–6 digits, not one digit repeated, not a run up or
/// down) accepts, and not one in `used` (which it joins).
export function randomPin(used = new Set()) {
  for (;;) {
    const pin = String(randomInt(0, 1_000_000)).padStart(6, "0");
    const d = [...pin].map(Number);
    const steps = d.slice(1).map((x, i) => (x - d[i] + 10) % 10);
    if (steps.every((s) => s === 0) || steps.every((s) => s === 1) || steps.every((s) => s === 9)) continue;
    if (used.has(pin)) continue;
    used.add(pin);
    return pin;
  }
}

/// Counts of each status in `answers` (transport errors as their code), e.g. `{200: 1, 401: 31}`.
export function tally(answers) {
  const counts = {};
  for (const a of answers) {
    const key = a.status === 0 ? `error:${a.error}` : a.status;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

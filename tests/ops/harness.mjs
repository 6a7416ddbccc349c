// Shared by the operational tests: the real `pinframe serve --demo` (or `pinframe cms`) started as
// a deployment would start it, optionally under a lower open-file limit; plain HTTP calls over
// fresh connections from a chosen local address; raw half-open sockets; and what /proc says about
// a process. The demo's values, the binary and panva jose come from the end-to-end harness.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import http from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { DEMO, bin, freePort, jose } from "../e2e/harness.mjs";

export { DEMO, bin, freePort, jose, sleep };
export const root = resolve(import.meta.dirname, "../..");
export const now = () => performance.now();

// ---------------------------------------------------------------------------------------------
// Processes. Every child is remembered so that the test process's exit ends it, whatever happened.

const children = new Set();
process.on("exit", () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

const KEEP = 64 * 1024;

/// Spawns `pinframe ARGS` (under `ulimit -n NOFILE` when `nofile` is given: the shell execs the
/// binary, so the pid is the service's own) and resolves once its stdout matches `pattern`, with
/// `{child, pid, url, out, exit}`. `exit` resolves with `{code, signal, at}` (`at`: performance.now()
/// when the exit was seen). The last 64 KiB of stderr are kept for failure messages.
export async function spawnPinframe(args, { nofile, env = {}, pattern, what, timeoutMs = 30_000 }) {
  const [program, argv] = nofile
    ? ["sh", ["-c", 'ulimit -n "$1" && shift && exec "$@"', "sh", String(nofile), bin, ...args]]
    : [bin, args];
  const child = spawn(program, argv, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  children.add(child);
  const out = { stdout: "", stderr: "" };
  child.stdout.on("data", (d) => (out.stdout += d));
  child.stderr.on("data", (d) => (out.stderr = (out.stderr + d).slice(-KEEP)));
  const exit = new Promise((ok) =>
    child.on("exit", (code, signal) => {
      children.delete(child);
      ok({ code, signal, at: now() });
    }),
  );
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new Error(`${what} did not start in ${timeoutMs} ms:\n${out.stdout}\n${out.stderr}`));
    }, timeoutMs);
    exit.then(({ code, signal }) => {
      clearTimeout(timer);
      fail(new Error(`${what} exited (${code ?? signal}) before it listened:\n${out.stdout}\n${out.stderr.slice(-4000)}`));
    });
    child.stdout.on("data", () => {
      const m = out.stdout.match(pattern);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
  });
  return { child, pid: child.pid, url, out, exit };
}

/// Ends a child: SIGTERM, then SIGKILL if it is still there after `graceMs`.
export async function stopChild(child, exit, graceMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exit;
  clearTimeout(timer);
}

/// Starts `pinframe serve --demo` on a free loopback port with `args` added. `dataDir` defaults to
/// a fresh directory, removed by `stop()` unless `keepData`. The widget is not needed (its pages
/// answer 503 when `dist/` is not built; no test here loads them).
export async function startService({ args = [], dataDir, keepData = false, nofile, env = {} } = {}) {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), "pinframe-ops-"));
  const argv = ["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir", dir, "--widget-dir", join(root, "dist"), ...args];
  const started = await spawnPinframe(argv, {
    nofile,
    env,
    pattern: /pinframe listening on (http:\/\/\S+)/,
    what: `pinframe serve ${args.join(" ")}`.trim(),
  }).catch((e) => {
    if (!dataDir && !keepData) rmSync(dir, { recursive: true, force: true });
    throw e;
  });
  return {
    ...started,
    dataDir: dir,
    async stop() {
      await stopChild(started.child, started.exit);
      if (!keepData) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/// Starts the reference CMS alone (`pinframe cms`) in `dataDir` for the public JWK in `recipientJwk`.
export async function startCms({ dataDir, recipientJwk, secret }) {
  const argv = ["cms", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--recipient-jwk", recipientJwk];
  const started = await spawnPinframe(argv, {
    env: { PINFRAME_CMS_CLIENT_SECRET: secret },
    pattern: /pinframe cms listening on (http:\/\/\S+)/,
    what: "pinframe cms",
  });
  return { ...started, stop: () => stopChild(started.child, started.exit) };
}

/// Every secret a service with the embedded CMS keeps in `dataDir`, as it would appear in text.
export function keyMaterial(dataDir) {
  const secrets = [];
  for (const file of ["service-key.jwk", "signing-key.jwk", "cms/cms-key.jwk"]) {
    secrets.push(JSON.parse(readFileSync(join(dataDir, file), "utf8")).d);
  }
  for (const file of ["data-key.hex", "cms/kek.hex"]) {
    const hex = readFileSync(join(dataDir, file), "utf8").trim();
    secrets.push(hex, hex.toLowerCase());
  }
  return secrets;
}

// ---------------------------------------------------------------------------------------------
// /proc

/// The soft and hard "Max open files" of a process (`self` for this one).
export function openFileLimit(pid = "self") {
  const line = readFileSync(`/proc/${pid}/limits`, "utf8").split("\n").find((l) => l.startsWith("Max open files"));
  const [soft, hard] = line.replace("Max open files", "").trim().split(/\s+/);
  return { soft: Number(soft), hard: Number(hard) };
}

/// A `/proc/PID/status` field in kB (`VmHWM`, `VmRSS`), as a number of MB.
export function statusMB(pid, field) {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/// How many descriptors a process has open now (0 once it is gone).
export function openFiles(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}


// ---------------------------------------------------------------------------------------------
// HTTP. `request` never throws: `status` is 0 and `error` says why when no answer came.

/// One request on a fresh connection (no pooling: a connection the server cut off earlier cannot be
/// reused by mistake), from `localAddress` when given. Resolves with `{status, headers, text, json,
/// ms, error}`.
export function request(url, { method = "GET", headers = {}, body, localAddress, timeoutMs = 10_000, agent = false } = {}) {
  const started = now();
  return new Promise((ok) => {
    let settled = false;
    const done = (answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ok({ ...answer, ms: now() - started });
    };
    const payload = body === undefined ? undefined : Buffer.from(body);
    if (payload) headers = { "content-length": payload.length, ...headers };
    const req = http.request(url, { method, headers, localAddress, agent }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString();
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        done({ status: res.statusCode, headers: res.headers, text, json });
      });
      res.on("error", (e) => done({ status: 0, error: e.code ?? e.message }));
    });
    let connected = false;
    req.on("socket", (socket) => socket.once("connect", () => (connected = true)));
    const timer = setTimeout(() => {
      done({ status: 0, error: `no answer in ${timeoutMs} ms, ${connected ? "connected but nothing came back" : "the TCP connection was never established"}` });
      req.destroy();
    }, timeoutMs);
    req.on("error", (e) => done({ status: 0, error: e.code ?? e.message }));
    req.end(payload);
  });
}

export const basicAuth = (id, secret) => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;
export const DEMO_BASIC = basicAuth(DEMO.clientId, DEMO.clientSecret);

/// `POST /oauth2/token` (client credentials) with the Basic credentials given.
export function oauthToken(base, authorization = DEMO_BASIC, options = {}) {
  return request(`${base}/oauth2/token`, {
    method: "POST",
    headers: { authorization, "content-type": "application/x-www-form-urlencoded" },
    body: "grant_type=client_credentials",
    ...options,
  });
}

/// `POST /api/v1/pin-control/tokens` for the demo card, as the demo issuer's backend.
export function pinControlToken(base, action = "VIEW_PIN", options = {}) {
  return request(`${base}/api/v1/pin-control/tokens`, {
    method: "POST",
    headers: { authorization: DEMO_BASIC, "content-type": "application/json" },
    body: JSON.stringify({ cardId: DEMO.card, action }),
    ...options,
  });
}

/// A POST as the widget makes it: the PIN-control token as Bearer credential, a JSON body.
export function bearerPost(base, path, token, body, options = {}) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  return request(`${base}${path}`, { method: "POST", headers, body: body === undefined ? undefined : JSON.stringify(body), ...options });
}

/// What a status line says when something other than `expected` came (never a response body that
/// could carry a token: only error bodies, which are `{"error": …}`).
export function explain(answer, expected) {
  if (answer.status === 0) return `expected ${expected}, got no answer (${answer.error}) after ${answer.ms.toFixed(0)} ms`;
  const detail = answer.json?.error ? ` ${JSON.stringify(answer.json.error)}` : "";
  return `expected ${expected}, got ${answer.status}${detail} after ${answer.ms.toFixed(0)} ms`;
}

/// A legitimate view flow, each call on a fresh connection: token issue (Basic) → session → view
/// with a fresh ephemeral key made with jose → decrypt. Resolves with `{ok, ms, failure}`;
/// `failure` names the step and what came instead (never the PIN or the token).
export async function viewFlow(base, options = {}) {
  const started = now();
  const fail = (step, why) => ({ ok: false, ms: now() - started, failure: `${step}: ${why}` });
  const issued = await pinControlToken(base, "VIEW_PIN", options);
  if (issued.status !== 201 || typeof issued.json?.token !== "string") return fail("token issue", explain(issued, 201));
  const { token } = issued.json;
  const session = await bearerPost(base, "/api/v1/pin/session", token, undefined, options);
  if (session.status !== 200) return fail("session", explain(session, 200));
  const { publicKey, privateKey } = await jose.generateKeyPair("ECDH-ES", { crv: "P-256", extractable: true });
  const view = await bearerPost(base, "/api/v1/pin/view", token, { epk: await jose.exportJWK(publicKey) }, options);
  if (view.status !== 200) return fail("view", explain(view, 200));
  let pin;
  try {
    const { plaintext } = await jose.compactDecrypt(view.json.encryptedPin, privateKey);
    pin = JSON.parse(new TextDecoder().decode(plaintext)).pin;
  } catch (e) {
    return fail("decrypt", `the encryptedPin did not decrypt with the ephemeral key (${e.code ?? e.message})`);
  }
  if (pin !== DEMO.pin) return fail("compare", "the decrypted PIN is not the demo PIN");
  return { ok: true, ms: now() - started };
}

// ---------------------------------------------------------------------------------------------
// Raw sockets

/// Opens a TCP connection to `url`'s host and port from `localAddress`; resolves with the socket
/// once connected, or rejects. What the server sends is read and dropped, so that its closing the
/// connection is seen; errors after the connect are swallowed: `socket.gone` turns true on "close".
export function openSocket(url, localAddress, timeoutMs = 10_000) {
  const { hostname, port } = new URL(url);
  return new Promise((ok, fail) => {
    const socket = connect({ host: hostname, port: Number(port), localAddress });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      fail(new Error(`connect from ${localAddress}: no connection in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.on("error", () => {});
      socket.on("close", () => (socket.gone = true));
      socket.resume();
      ok(socket);
    });
    socket.once("error", (e) => {
      clearTimeout(timer);
      fail(e);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Figures

/// The `q` quantile (0..1) of `values`, nearest rank.
export function quantile(values, q) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/// Counts of each status (transport errors by their reason), e.g. `{"200": 3, "error:ECONNRESET": 1}`.
export function tally(answers) {
  const counts = {};
  for (const a of answers) {
    const key = a.status === 0 ? `error:${a.error}` : String(a.status);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

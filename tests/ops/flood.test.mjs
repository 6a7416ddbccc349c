// A credential-stuffing flood: for 30 s, 16 clients on 127.0.0.2 … 127.0.0.17 send wrong secrets
// for the legitimate issuer's client id to `POST /oauth2/token`, back to back. The service must
// start answering 429 within 1 s and keep doing so (≥ 90% of the flood's answers after the first
// 429), while the legitimate issuer on 127.0.0.1, asking for a token every 100 ms, gets every one
// with a p99 latency under 3× its p99 before the flood, and the service's peak RSS stays under 200 MB.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { DEMO, now, oauthToken, quantile, sleep, startService, statusMB, tally } from "./harness.mjs";

const FLOOD_MS = 30_000;
const ATTACKERS = Array.from({ length: 16 }, (_, i) => `127.0.0.${i + 2}`);
const INTERVAL_MS = 100;
const QUIET_REQUESTS = 50;
const FIRST_429_WITHIN_MS = 1000;
const MIN_429_SHARE = 0.9;
const MAX_P99_RATIO = 3;
const MAX_PEAK_RSS_MB = 200;

let service;
let worker;
after(async () => {
  await worker?.terminate();
  await service?.stop();
});

/// The legitimate issuer's backend: `POST /oauth2/token` with the right secret from 127.0.0.1,
/// one every INTERVAL_MS on a fixed schedule whatever the answers take (a slow answer does not
/// delay the next ask, so queueing shows in the latencies), `count` of them or until `until()`.
/// Resolves with the answers, each with its latency `ms`.
async function legitimate(base, { count = Infinity, until = () => false }) {
  const pending = [];
  const started = now();
  for (let i = 0; i < count && !until(); i++) {
    const wait = started + i * INTERVAL_MS - now();
    if (wait > 0) await sleep(wait);
    pending.push(
      oauthToken(base, undefined, { localAddress: "127.0.0.1", timeoutMs: 10_000 }).then((answer) => ({
        status: answer.status,
        error: answer.error,
        ms: answer.ms,
        ok: answer.status === 200 && typeof answer.json?.access_token === "string",
      })),
    );
  }
  return Promise.all(pending);
}

test("a 30 s flood of wrong secrets from 16 addresses is answered 429 while the legitimate issuer keeps getting tokens", async (t) => {
  service = await startService();
  const base = service.url;

  await legitimate(base, { count: 3 }); // warm-up, not measured
  const quiet = await legitimate(base, { count: QUIET_REQUESTS });
  assert.deepEqual(tally(quiet), { 200: QUIET_REQUESTS }, "before the flood, every legitimate token request succeeds");
  const quietP99 = quantile(quiet.map((a) => a.ms), 0.99);
  const rssBefore = statusMB(service.pid, "VmHWM");

  worker = new Worker(new URL("./flood-worker.mjs", import.meta.url), {
    workerData: { url: base, addresses: ATTACKERS, durationMs: FLOOD_MS, clientId: DEMO.clientId },
  });
  // The worker's messages, in order; an error or an early exit fails whoever waits.
  const inbox = [];
  const waiting = [];
  let broken = null;
  const breakAll = (e) => {
    broken ??= e;
    for (const w of waiting.splice(0)) w.fail(broken);
  };
  worker.on("message", (m) => (waiting.length ? waiting.shift().ok(m) : inbox.push(m)));
  worker.on("error", breakAll);
  worker.on("exit", (code) => breakAll(new Error(`the flood worker exited (${code}) before it reported`)));
  const nextMessage = () =>
    inbox.length ? Promise.resolve(inbox.shift()) : broken ? Promise.reject(broken) : new Promise((ok, fail) => waiting.push({ ok, fail }));
  const startedMessage = await nextMessage();
  assert.equal(startedMessage.type, "started");
  const floodStarted = now();
  const during = await legitimate(base, { until: () => now() - floodStarted >= FLOOD_MS });
  const flood = await nextMessage();
  assert.equal(flood.type, "done");
  const peakRss = statusMB(service.pid, "VmHWM");

  const floodP99 = quantile(during.map((a) => a.ms), 0.99);
  const after429 = Object.values(flood.afterFirst429).reduce((a, b) => a + b, 0);
  const share429 = after429 ? (flood.afterFirst429["429"] ?? 0) / after429 : 0;
  const failed = during.filter((a) => !a.ok);
  t.diagnostic(`flood: ${flood.total} answers in ${(flood.elapsedMs / 1000).toFixed(1)} s (${(flood.total / (flood.elapsedMs / 1000)).toFixed(0)}/s) from ${ATTACKERS.length} addresses`);
  t.diagnostic(`first 429: ${flood.first429Ms === null ? "none" : `${flood.first429Ms.toFixed(0)} ms`} after the flood's start; before it: ${JSON.stringify(flood.beforeFirst429)}`);
  t.diagnostic(`after the first 429: ${(share429 * 100).toFixed(1)}% were 429 of ${after429} answers ${JSON.stringify(flood.afterFirst429)}; 429s without a Retry-After in seconds: ${flood.withoutRetryAfter}`);
  t.diagnostic(`legitimate issuer: quiet p99 ${quietP99.toFixed(1)} ms (${quiet.length} requests); during the flood p99 ${floodP99.toFixed(1)} ms, ${during.length - failed.length} of ${during.length} answered 200 ${JSON.stringify(tally(during))}`);
  t.diagnostic(`service peak RSS (VmHWM): ${rssBefore.toFixed(1)} MB before the flood, ${peakRss.toFixed(1)} MB after it`);

  const violations = [];
  if (flood.first429Ms === null || flood.first429Ms > FIRST_429_WITHIN_MS) {
    violations.push(`first 429: expected within ${FIRST_429_WITHIN_MS} ms of the flood's start, measured ${flood.first429Ms === null ? `none in ${FLOOD_MS / 1000} s` : `${flood.first429Ms.toFixed(0)} ms`}`);
  }
  if (share429 < MIN_429_SHARE) {
    violations.push(`429 share after the first 429: expected ≥ ${MIN_429_SHARE * 100}%, measured ${(share429 * 100).toFixed(1)}% of ${after429} answers`);
  }
  if (failed.length > 0) {
    violations.push(`legitimate token requests during the flood: expected all ${during.length} to answer 200, measured ${JSON.stringify(tally(during))}`);
  }
  if (!(floodP99 < MAX_P99_RATIO * quietP99)) {
    violations.push(`legitimate p99 during the flood: expected under ${MAX_P99_RATIO} × ${quietP99.toFixed(1)} = ${(MAX_P99_RATIO * quietP99).toFixed(1)} ms, measured ${floodP99.toFixed(1)} ms`);
  }
  if (!(peakRss < MAX_PEAK_RSS_MB)) {
    violations.push(`service peak RSS: expected under ${MAX_PEAK_RSS_MB} MB, measured ${peakRss.toFixed(1)} MB`);
  }
  assert.deepEqual(violations, [], `the flood broke ${violations.length} expectation(s):\n  ${violations.join("\n  ")}`);
});

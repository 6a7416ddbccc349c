// Connection exhaustion: 1,000 connections that never finish a request (half of them silent, half
// sending one header byte a second), held open throughout against a service that may open only
// 256 files, while a legitimate client runs the whole view flow (token issue → session → view,
// the PIN decrypted with jose) 20 times. Every try must succeed.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { now, openFileLimit, openFiles, openSocket, quantile, sleep, startService, viewFlow } from "./harness.mjs";

const CONNECTIONS = 1000;
const SERVICE_NOFILE = 256;
const TRIES = 20;
/// Each call of a try gets this long; a try that times out counts as failed.
const CALL_TIMEOUT_MS = 5000;
/// A run that already failed this many tries stops early (the verdict cannot change).
const GIVE_UP_AFTER = 3;
/// The attackers' source addresses; the legitimate client is 127.0.0.1.
const ATTACKERS = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);
/// What a byte-a-second connection trickles: a request whose headers never end.
const SLOW_HEAD = Buffer.from(`GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${"a".repeat(4096)}`);

/// The 1,000 connections: each slot reconnects as soon as its connection is closed, so the
/// pressure stays; odd slots write one more byte of SLOW_HEAD every second, even ones stay silent.
/// A slot whose SYN the kernel drops (the listener's accept queue is full) keeps waiting for it:
/// the kernel retries, as an attacker's would.
class Pressure {
  constructor(url) {
    this.url = url;
    this.open = new Set();
    this.connects = 0;
    this.connecting = 0;
    this.closedByServer = 0;
    this.connectFailures = 0;
    this.stopped = false;
    this.ticker = setInterval(() => {
      for (const socket of this.open) {
        if (socket.slow === undefined || socket.destroyed) continue;
        socket.write(SLOW_HEAD.subarray(socket.slow, socket.slow + 1));
        socket.slow = (socket.slow + 1) % SLOW_HEAD.length;
      }
    }, 1000);
    this.slots = Array.from({ length: CONNECTIONS }, (_, i) => this.hold(i));
  }

  async hold(i) {
    while (!this.stopped) {
      let socket;
      this.connecting++;
      try {
        socket = await openSocket(this.url, ATTACKERS[i % ATTACKERS.length], 120_000);
      } catch {
        this.connectFailures++;
        await sleep(100);
        continue;
      } finally {
        this.connecting--;
      }
      if (this.stopped) return socket.destroy();
      this.connects++;
      if (i % 2 === 1) socket.slow = 0;
      this.open.add(socket);
      await new Promise((ok) => socket.once("close", ok));
      this.open.delete(socket);
      if (!this.stopped) this.closedByServer++;
    }
  }

  /// Closes every connection; slots still waiting for the kernel end once the service is gone.
  stop() {
    this.stopped = true;
    clearInterval(this.ticker);
    for (const socket of this.open) socket.destroy();
  }

  settled() {
    return Promise.all(this.slots);
  }
}

let service;
let pressure;
after(async () => {
  pressure?.stop();
  await service?.stop();
  await pressure?.settled();
});

test(`a legitimate view flow succeeds ${TRIES} times out of ${TRIES} beside ${CONNECTIONS} idle or byte-a-second connections, the service limited to ${SERVICE_NOFILE} files`, async (t) => {
  const own = openFileLimit();
  assert.ok(
    own.soft >= CONNECTIONS + 500,
    `this test process may open ${own.soft} files, it needs ${CONNECTIONS + 500}: run it under \`ulimit -n 8192\`, as \`make test-ops\` does`,
  );

  service = await startService({ nofile: SERVICE_NOFILE });
  assert.equal(openFileLimit(service.pid).soft, SERVICE_NOFILE, "the service runs under the lowered open-file limit");
  const unloaded = await viewFlow(service.url);
  assert.ok(unloaded.ok, `the view flow before the pressure starts: ${unloaded.failure}`);

  pressure = new Pressure(service.url);
  const rampStarted = now();
  while (pressure.open.size < CONNECTIONS && now() - rampStarted < 3000) await sleep(50);
  await sleep(1000); // every byte-a-second connection has sent a byte
  const established = pressure.open.size;
  t.diagnostic(
    `pressure: ${established} connections established and ${pressure.connecting} waiting for the kernel ` +
      `${((now() - rampStarted) / 1000).toFixed(1)} s after the start; the service holds ${openFiles(service.pid)} descriptors`,
  );
  assert.ok(
    established > SERVICE_NOFILE,
    `only ${established} of ${CONNECTIONS} slow connections were established, no more than the service's ${SERVICE_NOFILE} files: the test would not exhaust them`,
  );

  const samples = [];
  const sampler = setInterval(() => samples.push(pressure.open.size), 100);
  const results = [];
  const triesStarted = now();
  for (let i = 0; i < TRIES && results.filter((r) => !r.ok).length < GIVE_UP_AFTER; i++) {
    results.push({ try: i + 1, ...(await viewFlow(service.url, { localAddress: "127.0.0.1", timeoutMs: CALL_TIMEOUT_MS })) });
    samples.push(pressure.open.size);
  }
  clearInterval(sampler);
  const elapsed = (now() - triesStarted) / 1000;
  const succeeded = results.filter((r) => r.ok);
  const flowMs = succeeded.map((r) => r.ms);
  t.diagnostic(
    `tries: ${succeeded.length} of ${results.length} succeeded in ${elapsed.toFixed(1)} s` +
      (flowMs.length ? ` (flow p50 ${quantile(flowMs, 0.5).toFixed(0)} ms, max ${Math.max(...flowMs).toFixed(0)} ms)` : ""),
  );
  t.diagnostic(
    `pressure during the tries: ${Math.min(...samples)}–${Math.max(...samples)} connections open; ` +
      `${pressure.closedByServer} closed by the service and reopened; ${pressure.connecting} waiting for the kernel; ${pressure.connectFailures} connect failures; ` +
      `the service holds ${openFiles(service.pid)} descriptors`,
  );

  const failures = results.filter((r) => !r.ok).map((r) => `try ${r.try} after ${(r.ms / 1000).toFixed(1)} s: ${r.failure}`);
  assert.deepEqual(
    failures,
    [],
    `expected ${TRIES} of ${TRIES} view flows to succeed beside ${CONNECTIONS} slow connections; ` +
      `measured ${succeeded.length} of ${results.length}${results.length < TRIES ? " (stopped early)" : ""}:\n  ${failures.join("\n  ")}`,
  );
  assert.equal(results.length, TRIES);
});

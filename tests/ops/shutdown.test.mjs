// Graceful shutdown under half-sent requests: with 100 requests left hanging (60 whose headers
// never end, 40 whose headers are complete and whose body is half sent), SIGTERM makes
// `pinframe serve --shutdown-timeout 5` exit with code 0 within the deadline plus one second.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { DEMO, DEMO_BASIC, now, openSocket, request, sleep, startService } from "./harness.mjs";

const SHUTDOWN_TIMEOUT_S = 5;
const HALF_HEADERS = 60;
const HALF_BODIES = 40;
/// How long after the signal the test waits before it kills the process and fails.
const KILL_AFTER_MS = (SHUTDOWN_TIMEOUT_S + 5) * 1000;

let service;
const sockets = [];
after(async () => {
  for (const s of sockets) s.destroy();
  await service?.stop();
});

test(`SIGTERM with ${HALF_HEADERS + HALF_BODIES} half-sent requests open: exit code 0 within --shutdown-timeout ${SHUTDOWN_TIMEOUT_S} plus 1 s`, async (t) => {
  service = await startService({ args: ["--shutdown-timeout", String(SHUTDOWN_TIMEOUT_S)] });
  const { host } = new URL(service.url);

  const body = JSON.stringify({ cardId: DEMO.card, action: "VIEW_PIN", language: "en" });
  const halfHeaders = `POST /api/v1/pin-control/tokens HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nX-Pad`;
  const halfBody =
    `POST /api/v1/pin-control/tokens HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${DEMO_BASIC}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, body.length >> 1)}`;
  for (let i = 0; i < HALF_HEADERS + HALF_BODIES; i++) {
    const socket = await openSocket(service.url, "127.0.0.1");
    socket.write(i < HALF_HEADERS ? halfHeaders : halfBody);
    sockets.push(socket);
  }
  await sleep(1000); // the service has read what was sent (and checked the Basic credentials)
  const open = sockets.filter((s) => !s.gone).length;
  assert.equal(open, HALF_HEADERS + HALF_BODIES, "every half-sent request is still open when the signal comes");
  const ready = await request(`${service.url}/readyz`, { timeoutMs: 3000 });
  assert.equal(ready.status, 200, "the service answers beside the half-sent requests before the signal");

  const signalled = now();
  service.child.kill("SIGTERM");
  const killer = setTimeout(() => service.child.kill("SIGKILL"), KILL_AFTER_MS);
  const { code, signal, at } = await service.exit;
  clearTimeout(killer);
  const seconds = (at - signalled) / 1000;
  const stillOpen = sockets.filter((s) => !s.gone).length;
  t.diagnostic(`exit ${signal ? `by ${signal}` : `code ${code}`} ${seconds.toFixed(2)} s after SIGTERM; ${stillOpen} half-sent requests were still open at the exit`);

  assert.notEqual(signal, "SIGKILL", `expected an exit within ${SHUTDOWN_TIMEOUT_S + 1} s of SIGTERM; the process was still running after ${KILL_AFTER_MS / 1000} s and was killed`);
  assert.equal(code, 0, `expected exit code 0 after SIGTERM, got ${code ?? `signal ${signal}`}\n${service.out.stderr.slice(-2000)}`);
  assert.ok(
    seconds <= SHUTDOWN_TIMEOUT_S + 1,
    `expected an exit within ${SHUTDOWN_TIMEOUT_S + 1} s of SIGTERM (--shutdown-timeout ${SHUTDOWN_TIMEOUT_S} plus 1 s), measured ${seconds.toFixed(2)} s`,
  );
});

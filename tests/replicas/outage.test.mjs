// PostgreSQL stopped (immediate shutdown) for OUTAGE ms under load, then started again on the same
// port: two replicas behind HAProxy (deploy/haproxy.cfg) answer every request meanwhile with a 503
// (Retry-After, the JSON error body) or a success, none takes longer than --database-wait (5 s, the
// default) plus a second, /readyz says 503, and requests succeed again within 5 s of the restart.
//
// The load: three loops (token, then view), one through the load balancer and one straight to each
// replica, plus /readyz polled on each replica. Through the load balancer a 503 may be HAProxy's own
// (its HTML page, once both replicas fail their /readyz health checks) or a replica's JSON one;
// straight from a replica it must be the JSON one with Retry-After.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { PGCLUSTER, call, issueToken, logsOf, now, pgcluster, skip, sleep, tally, useDeployment, view } from "./harness.mjs";

const BEFORE = 2000;
const OUTAGE = 10_000;
const DATABASE_WAIT = 5000;
const LIMIT = DATABASE_WAIT + 1000;
const RECOVERY = 5000;
/// How long the load goes on past RECOVERY after the restart.
const TAIL = 1500;

const SUCCESS = { issue: 201, view: 200, readyz: 200 };

const skipped = skip || (!PGCLUSTER && "PINFRAME_TEST_PGCLUSTER is not set: the test stops and starts that cluster");

describe("PostgreSQL down for 10 s under load", () => {
  const d = useDeployment({ tag: "outage", skip: skipped });
  let down = false;
  // Whatever happens in the test, the cluster is up again for the next file (before the
  // deployment's own `after` drops the database).
  const restart = async () => {
    if (down) {
      await pgcluster("start");
      down = false;
    }
  };

  test("503 with Retry-After or success, never slower than the wait, back within 5 s", { skip: skipped }, async (t) => {
    try {
      await run(t);
    } finally {
      await restart();
    }
  });

  async function run(t) {
    const paths = { lb: d.lb.url, r1: d.replicas[0].url, r2: d.replicas[1].url };
    const requests = []; // {path, kind, status, error, start, end, ms, retryAfter, contentType, json, text}
    const marks = {};
    let stop = false;
    const recovered = () => marks.started !== undefined && Object.keys(paths).every((p) => requests.some((r) => r.path === p && r.kind !== "readyz" && r.status === SUCCESS[r.kind] && r.end > marks.started));

    const note = (path, kind, answer) => {
      requests.push({
        path,
        kind,
        status: answer.status,
        error: answer.error,
        start: answer.start,
        end: answer.end,
        ms: answer.ms,
        retryAfter: answer.headers?.get("retry-after"),
        contentType: answer.headers?.get("content-type"),
        json: answer.json,
        text: answer.text,
      });
      return answer;
    };
    async function load(path) {
      const base = paths[path];
      while (!stop) {
        const issued = note(path, "issue", await issueToken(base));
        if (issued.status === 201) {
          const answer = note(path, "view", await view(base, issued.token));
          if (answer.status === 200) continue;
        }
        await sleep(100); // HAProxy's own 503 comes at once: no busy loop
      }
    }
    async function readyz(path) {
      while (!stop) {
        note(path, "readyz", await call(paths[path], "/readyz", { method: "GET" }));
        await sleep(250);
      }
    }
    async function outage() {
      await sleep(BEFORE);
      marks.stopping = now();
      down = true;
      await pgcluster("stop", "immediate");
      marks.stopped = now();
      await sleep(OUTAGE - (marks.stopped - marks.stopping));
      marks.starting = now();
      await pgcluster("start");
      down = false;
      marks.started = now();
      const deadline = now() + RECOVERY + LIMIT;
      while (!recovered() && now() < deadline) await sleep(50);
      // Long enough to see requests that start after RECOVERY.
      await sleep(Math.max(TAIL, marks.started + RECOVERY + TAIL - now()));
      stop = true;
    }
    await Promise.all([outage(), load("lb"), load("r1"), load("r2"), readyz("r1"), readyz("r2")]);

    const rel = (ms) => Math.round(ms - marks.stopped);
    const show = (list) =>
      JSON.stringify(list.slice(0, 20).map((r) => ({ path: r.path, kind: r.kind, status: r.status || r.error, ms: Math.round(r.ms), start: rel(r.start), retryAfter: r.retryAfter, body: r.text?.slice(0, 160) })));
    t.diagnostic(`stop took ${Math.round(marks.stopped - marks.stopping)} ms, start ${Math.round(marks.started - marks.starting)} ms; ${requests.length} requests: ${JSON.stringify(tally(requests))}`);
    const fail = (what, list) => `${what}: ${show(list)}\n${logsOf(d)}`;

    // Every request got an answer, and no answer took longer than the wait plus a second.
    const lost = requests.filter((r) => r.status === 0);
    assert.deepEqual(lost.length, 0, fail("requests without an answer", lost));
    const slow = requests.filter((r) => r.ms > LIMIT);
    t.diagnostic(`slowest: ${Math.round(Math.max(...requests.map((r) => r.ms)))} ms`);
    assert.deepEqual(slow.length, 0, fail(`requests over ${LIMIT} ms`, slow));

    // Every answer is a success or a 503; a replica's 503 carries Retry-After and the JSON error body.
    const other = requests.filter((r) => r.status !== SUCCESS[r.kind] && r.status !== 503);
    assert.deepEqual(other.length, 0, fail("answers neither a success nor a 503", other));
    const replica503 = (r) => r.path !== "lb" || r.contentType?.startsWith("application/json");
    const unavailable = requests.filter((r) => r.status === 503);
    const bad503 = unavailable.filter(
      (r) => replica503(r) && !(/^\d+$/.test(r.retryAfter ?? "") && r.contentType?.startsWith("application/json") && typeof r.json?.error === "string" && typeof r.json?.message === "string"),
    );
    assert.deepEqual(bad503.length, 0, fail("a replica's 503 without Retry-After or the JSON error body", bad503));
    t.diagnostic(
      `503s: ${unavailable.filter((r) => r.path !== "lb").length} straight from the replicas, through the load balancer ${unavailable.filter((r) => r.path === "lb" && replica503(r)).length} from a replica and ${unavailable.filter((r) => r.path === "lb" && !replica503(r)).length} HAProxy's own; error codes ${JSON.stringify(tally(unavailable.filter(replica503).map((r) => ({ status: r.json?.error }))))}`,
    );
    // The outage was seen: each replica answered requests and /readyz with 503 while it lasted.
    // (A request waits up to 5 s for a connection, so one that was answered during the outage may
    // have started before it or end after it.)
    const during = (r) => r.start >= marks.stopped && r.end <= marks.starting;
    const answeredDuring = (r) => r.end > marks.stopped && r.end <= marks.starting;
    for (const path of ["r1", "r2"]) {
      assert.ok(unavailable.some((r) => r.path === path && r.kind !== "readyz" && answeredDuring(r)), `${path} never answered 503 during the outage`);
      const probes = requests.filter((r) => r.path === path && r.kind === "readyz" && during(r));
      assert.ok(probes.length > 0, `${path}: no /readyz during the outage`);
      assert.deepEqual(probes.filter((r) => r.status !== 503), [], fail(`${path}: /readyz not 503 during the outage`, probes));
      t.diagnostic(`${path}: ${probes.length} /readyz during the outage, all 503, the slowest ${Math.round(Math.max(...probes.map((r) => r.ms)))} ms`);
    }
    // Nothing failed before the stop.
    const early = requests.filter((r) => r.end < marks.stopping && r.status !== SUCCESS[r.kind]);
    assert.deepEqual(early.length, 0, fail("failures before PostgreSQL stopped", early));

    // Back within RECOVERY of the restart on every path, and every request started after that succeeds.
    for (const path of Object.keys(paths)) {
      const ok = requests.filter((r) => r.path === path && r.kind !== "readyz" && r.status === SUCCESS[r.kind] && r.end > marks.started);
      assert.ok(ok.length > 0, `${path}: no success after the restart`);
      const back = Math.min(...ok.map((r) => r.end)) - marks.started;
      t.diagnostic(`${path}: first success ${Math.round(back)} ms after PostgreSQL was started`);
      assert.ok(back <= RECOVERY, `${path}: the first success came ${Math.round(back)} ms after the restart`);
    }
    const late = requests.filter((r) => r.start > marks.started + RECOVERY && r.status !== SUCCESS[r.kind]);
    assert.deepEqual(late.length, 0, fail(`failures more than ${RECOVERY} ms after the restart`, late));
    assert.ok(requests.some((r) => r.start > marks.started + RECOVERY), "the load ended too soon to see the recovery");
  }
});

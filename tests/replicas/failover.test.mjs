// kill -9 of one of two replicas while load runs through HAProxy (deploy/haproxy.cfg): the other
// replica keeps answering, no token is used twice, the last acknowledged PIN set is the PIN viewed,
// and the card's change counter moved by the acknowledged sets, plus at most the sets whose outcome
// the kill left unknown.
//
// The load, through the load balancer, for DURATION ms; replica 2 is killed KILL_AFTER ms in:
// - one setter loop: token, then a set of a fresh random valid PIN, one after another, so that
//   "the last acknowledged set" means one thing;
// - two viewer loops: token, then view;
// - one double-view loop: token, then three concurrent views of it (two through the load balancer,
//   one straight to replica 1, the survivor).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  changeCounter,
  currentPin,
  issueToken,
  logsOf,
  now,
  randomPin,
  serviceJwk,
  setPin,
  skip,
  sleep,
  tally,
  useDeployment,
  view,
} from "./harness.mjs";

const DURATION = 6000;
const KILL_AFTER = 2000;
/// How soon after the kill requests through the load balancer must succeed again, and after which
/// every request must.
const RECOVERY = 3000;

const SUCCESS = { issue: 201, view: 200, set: 204 };

describe("kill -9 of one replica under load", () => {
  const d = useDeployment({ tag: "failover" });

  test("the survivor answers, no token works twice, the last acknowledged PIN stands, the counter adds up", { skip }, async (t) => {
    const lb = d.lb.url;
    const [survivor, victim] = d.replicas;
    const counterBefore = changeCounter(d.db.url);
    const jwk = await serviceJwk(lb);
    const initialPin = await currentPin(lb);
    const used = new Set([initialPin]);
    const attempted = new Set([initialPin]);

    const requests = []; // every request: {loop, kind, status, error, start, end}
    const successes = new Map(); // token → 200 views and 204 sets with it
    const sets = []; // the setter's sets, in order: {pin, status, error, start, end}
    const viewed = []; // PINs seen by views during the load
    const doubles = []; // per double-view token: {start, end, counts}
    const t0 = now();
    let killAt = Infinity;
    const running = () => now() - t0 < DURATION;

    const note = (loop, kind, answer, token) => {
      requests.push({ loop, kind, status: answer.status, error: answer.error, text: answer.text, start: answer.start, end: answer.end });
      if (token && answer.status === SUCCESS[kind]) successes.set(token, (successes.get(token) ?? 0) + 1);
    };
    const issue = async (loop, action) => {
      const answer = await issueToken(lb, action);
      note(loop, "issue", answer);
      if (!answer.token) await sleep(50);
      return answer.token;
    };

    async function setter() {
      while (running()) {
        const token = await issue("setter", "SET_PIN");
        if (!token) continue;
        const pin = randomPin(used);
        attempted.add(pin);
        const answer = await setPin(lb, token, jwk, pin);
        note("setter", "set", answer, token);
        sets.push({ pin, status: answer.status, error: answer.error, start: answer.start, end: answer.end });
      }
    }
    async function viewer(loop) {
      while (running()) {
        const token = await issue(loop, "VIEW_PIN");
        if (!token) continue;
        const answer = await view(lb, token);
        note(loop, "view", answer, token);
        if (answer.status === 200) viewed.push(answer.pin);
      }
    }
    async function doubleViewer() {
      while (running()) {
        const token = await issue("double", "VIEW_PIN");
        if (!token) continue;
        const answers = await Promise.all([view(lb, token), view(lb, token), view(survivor.url, token)]);
        for (const answer of answers) {
          note("double", "view", answer, token);
          if (answer.status === 200) viewed.push(answer.pin);
        }
        doubles.push({ start: Math.min(...answers.map((a) => a.start)), end: Math.max(...answers.map((a) => a.end)), counts: tally(answers) });
      }
    }
    async function killer() {
      await sleep(KILL_AFTER);
      killAt = now();
      victim.kill();
    }
    await Promise.all([setter(), viewer("viewer 1"), viewer("viewer 2"), doubleViewer(), killer()]);
    await new Promise((ok) => (victim.child.signalCode ? ok() : victim.child.once("exit", ok)));
    assert.equal(victim.child.signalCode, "SIGKILL");
    assert.equal(survivor.child.exitCode, null, "replica 1 is still running");

    const rel = (ms) => Math.round(ms - killAt);
    const failed = requests.filter((r) => r.status !== SUCCESS[r.kind] && !(r.loop === "double" && r.status === 401));
    t.diagnostic(`requests: ${requests.length} (${requests.filter((r) => r.start > killAt).length} started after the kill); by status: ${JSON.stringify(tally(requests))}`);
    t.diagnostic(`failed: ${failed.length}: ${JSON.stringify(failed.map((r) => ({ loop: r.loop, kind: r.kind, status: r.status || r.error, startMs: rel(r.start), endMs: rel(r.end) })))}`);
    const diag = () => `${JSON.stringify(failed.map((r) => ({ ...r, start: rel(r.start), end: rel(r.end), text: r.text?.slice(0, 200) })))}\n${logsOf(d)}`;

    // Nothing failed before the kill; failures only around it; after RECOVERY everything succeeds.
    for (const r of failed) {
      assert.ok(r.end >= killAt, `a request failed before the kill: ${diag()}`);
      assert.ok(r.start <= killAt + RECOVERY, `a request failed ${rel(r.start)} ms after the kill: ${diag()}`);
      assert.ok(r.status === 0 || r.status >= 500, `a failure that is not a lost or 5xx answer: ${diag()}`);
    }
    // Requests succeed within RECOVERY of the kill, and keep doing so.
    const after = requests.filter((r) => r.start > killAt && r.status === SUCCESS[r.kind]);
    assert.ok(after.length > 0, "no request succeeded after the kill");
    const firstOk = Math.min(...after.map((r) => r.end)) - killAt;
    t.diagnostic(`successes after the kill: ${after.length}; the first ended ${Math.round(firstOk)} ms after it`);
    assert.ok(firstOk <= RECOVERY, `the first success after the kill came ${firstOk} ms after it`);
    for (const kind of ["issue", "view", "set"]) {
      assert.ok(after.some((r) => r.kind === kind), `no ${kind} succeeded after the kill`);
    }

    // No token worked twice; of three concurrent views of a token, one is a 200.
    const twice = [...successes].filter(([, n]) => n > 1);
    assert.deepEqual(twice.length, 0, `tokens used more than once: ${twice.length}`);
    for (const round of doubles) {
      assert.ok((round.counts[200] ?? 0) <= 1, JSON.stringify(round.counts));
      if (round.start > killAt + RECOVERY || round.end < killAt) assert.deepEqual(round.counts, { 200: 1, 401: 2 });
    }
    assert.ok(doubles.length > 0);

    // Every PIN seen during the load is one that was there or was sent.
    for (const pin of viewed) assert.ok(attempted.has(pin), `a view showed a PIN nobody set: ${pin}`);

    // The last acknowledged set is the PIN now, unless a set whose outcome is unknown (no answer, or
    // a 5xx) was sent after it; then it is one of those or the acknowledged one.
    const acked = sets.filter((s) => s.status === 204);
    const unknown = sets.filter((s) => s.status === 0 || s.status >= 500);
    const refused = sets.filter((s) => s.status !== 204 && !unknown.includes(s));
    t.diagnostic(`sets: ${sets.length}: ${acked.length} acknowledged, ${unknown.length} unknown, ${refused.length} refused (${JSON.stringify(tally(refused))})`);
    assert.equal(refused.length, 0, `sets refused: ${JSON.stringify(refused)}`);
    assert.ok(acked.length > 0);
    assert.ok(acked.some((s) => s.start > killAt), "no set was acknowledged after the kill");
    const last = acked.at(-1);
    const candidates = [last.pin, ...unknown.filter((s) => s.start > last.start).map((s) => s.pin)];
    const finalPin = await currentPin(lb);
    assert.ok(candidates.includes(finalPin), `PIN now ${finalPin}; last acknowledged ${last.pin}; unknown after it: ${candidates.slice(1)}`);
    if (candidates.length === 1) assert.equal(finalPin, last.pin);
    assert.equal(await currentPin(survivor.url), finalPin);

    // The change counter moved by every acknowledged set, and at most by the unknown ones besides.
    const moved = changeCounter(d.db.url) - counterBefore;
    t.diagnostic(`change counter moved by ${moved}`);
    assert.ok(moved >= acked.length && moved <= acked.length + unknown.length, `counter moved ${moved}, acknowledged ${acked.length}, unknown ${unknown.length}`);
  });
});

// Two replicas of `pinframe serve` on one PostgreSQL database, behind HAProxy (deploy/haproxy.cfg):
// a token works once whichever replica gets it, a PIN set on one is the PIN viewed on the other, and
// refused sets are counted across replicas. Requests are spread over both replicas by sending them
// in turn through the load balancer, straight to replica 1 and straight to replica 2 (request i goes
// to [LB, replica 1, replica 2][i % 3]), so that both replicas certainly see traffic whatever HAProxy
// picks.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  DEMO,
  changeCounter,
  currentPin,
  logsOf,
  mustIssue,
  session,
  setPin,
  skip,
  tally,
  useDeployment,
  view,
  widgetKey,
} from "./harness.mjs";

const CONCURRENT = 32;

describe("two replicas behind HAProxy", () => {
  const d = useDeployment({ tag: "consistency" });
  /// The three ways in, in turn: request i goes to targets()[i % 3].
  const targets = () => [d.lb.url, d.replicas[0].url, d.replicas[1].url];
  const spread = (i) => targets()[i % 3];
  const r1 = () => d.replicas[0].url;
  const r2 = () => d.replicas[1].url;

  test("both replicas and the load balancer answer /readyz; the demo was seeded once", { skip }, async () => {
    for (const base of targets()) {
      const answer = await fetch(`${base}/readyz`);
      assert.equal(answer.status, 200, base);
    }
    // Two replicas seeded the demo at the same time: one issuer, one card, one PIN, counter 1.
    assert.equal(changeCounter(d.db.url), 1, "the demo PIN was written more than once by the concurrent seeding");
    assert.equal(await currentPin(r1()), DEMO.pin);
    assert.equal(await currentPin(r2()), DEMO.pin);
  });

  test(`${CONCURRENT} concurrent views of one token, 10 rounds: exactly one 200 per round`, { skip }, async () => {
    for (let round = 0; round < 10; round++) {
      const token = await mustIssue(spread(round));
      const key = await widgetKey();
      const answers = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => view(spread(i), token, key)));
      const counts = tally(answers);
      assert.deepEqual(counts, { 200: 1, 401: CONCURRENT - 1 }, `round ${round}: ${JSON.stringify(counts)}\n${logsOf(d)}`);
      assert.equal(answers.find((a) => a.status === 200).pin, DEMO.pin);
      for (const a of answers.filter((a) => a.status === 401)) assert.equal(a.json?.error, "unauthorized");
    }
  });

  test("a PIN set through replica 1 is the PIN viewed through replica 2, and back", { skip }, async () => {
    const before = changeCounter(d.db.url);
    for (const [from, to, pin] of [
      [r1(), r2(), "804613"],
      [r2(), r1(), "5927"],
    ]) {
      const token = await mustIssue(from, "SET_PIN");
      const info = await session(from, token);
      assert.equal(info.status, 200);
      assert.deepEqual(info.json.pinPolicy, { minLength: 4, maxLength: 6, forbidYears: false });
      const set = await setPin(from, token, info.json.encryptionJwk, pin);
      assert.equal(set.status, 204, set.text);
      assert.equal(await currentPin(to), pin);
      // The token is used up on the other replica too.
      assert.equal((await session(to, token)).status, 401);
    }
    assert.equal(changeCounter(d.db.url), before + 2);
  });

  test("three refused sets spread over both replicas use the token up", { skip }, async () => {
    const pinBefore = await currentPin(d.lb.url);
    const counter = changeCounter(d.db.url);
    const token = await mustIssue(d.lb.url, "SET_PIN");
    const jwk = (await session(r2(), token)).json.encryptionJwk;
    const refusals = [
      [r1(), "1234", "sequential"],
      [r2(), "1111", "all_same"],
      [r1(), "12", "too_short"],
    ];
    for (const [base, weak, reason] of refusals) {
      const answer = await setPin(base, token, jwk, weak);
      assert.equal(answer.status, 422, `${weak}: ${answer.status} ${answer.text}`);
      assert.equal(answer.json.error, "pin_policy");
      assert.equal(answer.json.reason, reason);
    }
    const valid = await setPin(r2(), token, jwk, "7305");
    assert.equal(valid.status, 401, valid.text);
    assert.equal((await setPin(r1(), token, jwk, "7305")).status, 401);
    assert.equal((await setPin(d.lb.url, token, jwk, "7305")).status, 401);
    assert.equal(changeCounter(d.db.url), counter);
    assert.equal(await currentPin(d.lb.url), pinBefore);
  });

  test(`${CONCURRENT} concurrent weak-PIN sets on one token: exactly 3 x 422 and ${CONCURRENT - 3} x 401, 5 rounds`, { skip }, async () => {
    const pinBefore = await currentPin(d.lb.url);
    const counter = changeCounter(d.db.url);
    const jwk = (await session(r1(), await mustIssue(r1(), "SET_PIN"))).json.encryptionJwk;
    for (let round = 0; round < 5; round++) {
      const token = await mustIssue(spread(round), "SET_PIN");
      const answers = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => setPin(spread(i), token, jwk, "1234")));
      const counts = tally(answers);
      assert.deepEqual(counts, { 401: CONCURRENT - 3, 422: 3 }, `round ${round}: ${JSON.stringify(counts)}\n${logsOf(d)}`);
      // The token is used up: even a valid PIN is refused now, on every replica.
      for (const base of targets()) assert.equal((await setPin(base, token, jwk, "7305")).status, 401);
    }
    assert.equal(changeCounter(d.db.url), counter);
    assert.equal(await currentPin(d.lb.url), pinBefore);
  });
});

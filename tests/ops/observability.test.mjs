// Liveness and metrics: `GET /healthz` answers 200 {"status": "alive"}; `GET /metrics` is
// Prometheus text with `# TYPE` lines and a request counter labelled by route template (never the
// raw path) and status, which goes up by one with a request, and holds no secret after a whole
// flow; with `--metrics-listen ADDR` the metrics are served there and are 404 on the main listener.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { DEMO, DEMO_BASIC, bearerPost, explain, freePort, jose, keyMaterial, oauthToken, pinControlToken, request, startService } from "./harness.mjs";

/// Prometheus text exposition: `{types: {family: type}, samples: [{name, labels: {k: v}, value, line}]}`.
function parseMetrics(text) {
  const types = {};
  const samples = [];
  for (const line of text.split("\n")) {
    const type = line.match(/^# TYPE (\S+) (\S+)/);
    if (type) types[type[1]] = type[2];
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels = {};
    for (const [, k, v] of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v.replace(/\\(.)/g, "$1");
    samples.push({ name: m[1], labels, value: Number(m[3]), line });
  }
  return { types, samples };
}

const familyType = (types, name) => types[name] ?? types[name.replace(/_total$/, "")] ?? types[name.replace(/_(count|sum|bucket)$/, "")];

/// The route template of `PUT /issuers/{issuerId}/consumers/{consumerId}`, in whichever placeholder
/// syntax the service writes (`{issuer_id}`, `:issuer_id`).
const CONSUMER_ROUTE = /^\/issuers\/(\{[^/{}]+\}|:[^/]+)\/consumers\/(\{[^/{}]+\}|:[^/]+)$/;

/// The counter samples that count `PUT /issuers/{…}/consumers/{…}` answered 204.
function consumerCounters(parsed) {
  return parsed.samples.filter((s) => {
    const values = Object.values(s.labels);
    return familyType(parsed.types, s.name) === "counter" && values.some((v) => CONSUMER_ROUTE.test(v)) && values.includes("204");
  });
}

async function scrape(url) {
  const answer = await request(url);
  assert.equal(answer.status, 200, `GET ${url}: ${explain(answer, 200)}`);
  return answer;
}

describe("on the main listener", () => {
  let service;
  before(async () => (service = await startService()));
  after(async () => service?.stop());

  test("GET /healthz answers 200 {\"status\": \"alive\"}", async () => {
    const answer = await request(`${service.url}/healthz`);
    assert.equal(answer.status, 200, `GET /healthz: ${explain(answer, 200)}`);
    assert.deepEqual(answer.json, { status: "alive" }, `GET /healthz body: ${answer.text.slice(0, 200)}`);
  });

  test("GET /metrics: # TYPE lines, a request counter by route template and status that counts, and no secret", async (t) => {
    const first = await scrape(`${service.url}/metrics`);
    assert.match(first.headers["content-type"] ?? "", /^text\/plain/, "Prometheus text is text/plain");
    const typeLines = first.text.split("\n").filter((l) => l.startsWith("# TYPE "));
    assert.ok(typeLines.length > 0, `expected # TYPE lines in /metrics, got:\n${first.text.slice(0, 500)}`);

    // Everything a flow handles: the issuer's secret (and its Basic header), an access token, a
    // PIN-control token, the widget's ephemeral private key, the PAN, the PIN, the key files.
    const secrets = { "the client secret": DEMO.clientSecret, "the Basic credentials": DEMO_BASIC.slice("Basic ".length), "the PAN": "5555555551234567" };
    const oauth = await oauthToken(service.url);
    assert.equal(oauth.status, 200, `POST /oauth2/token: ${explain(oauth, 200)}`);
    secrets["the access token"] = oauth.json.access_token;
    const bearer = { authorization: `Bearer ${oauth.json.access_token}` };
    const consumer = `ops-consumer-${process.pid}`;
    const put = () => request(`${service.url}/issuers/${DEMO.issuer}/consumers/${consumer}`, { method: "PUT", headers: bearer });
    const firstPut = await put();
    assert.equal(firstPut.status, 204, `PUT /issuers/${DEMO.issuer}/consumers/…: ${explain(firstPut, 204)}`);
    const issued = await pinControlToken(service.url);
    assert.equal(issued.status, 201, `token issue: ${explain(issued, 201)}`);
    secrets["the PIN-control token"] = issued.json.token;
    const { publicKey, privateKey } = await jose.generateKeyPair("ECDH-ES", { crv: "P-256", extractable: true });
    secrets["the ephemeral private key"] = (await jose.exportJWK(privateKey)).d;
    const view = await bearerPost(service.url, "/api/v1/pin/view", issued.json.token, { epk: await jose.exportJWK(publicKey) });
    assert.equal(view.status, 200, `view: ${explain(view, 200)}`);
    keyMaterial(service.dataDir).forEach((k, i) => (secrets[`key material #${i + 1}`] = k));

    /// What in `text` is a secret (by name, never the value), the PIN anywhere but in a sample's
    /// value (where 2468 could be an honest count).
    const leaks = (text) => {
      const found = Object.entries(secrets).filter(([, secret]) => text.includes(secret)).map(([what]) => what);
      const withoutValues = text.split("\n").map((l) => (l.startsWith("#") ? l : l.replace(/\s+\S+(\s+\d+)?$/, ""))).join("\n");
      if (new RegExp(`(?<![0-9.])${DEMO.pin}(?![0-9])`).test(withoutValues)) found.push("the PIN (in a name or label)");
      return found;
    };
    const beforeText = (await scrape(`${service.url}/metrics`)).text;
    assert.deepEqual(leaks(beforeText), [], "/metrics holds secrets after a whole flow");
    const before = parseMetrics(beforeText);
    const counted = consumerCounters(before);
    const routeLike = before.samples.filter((s) => Object.values(s.labels).some((v) => v.startsWith("/")));
    assert.ok(
      counted.length > 0,
      "expected a counter sample labelled with the route template /issuers/{…}/consumers/{…} and status 204 after such a request; " +
        `found none among:\n${routeLike.slice(0, 20).map((s) => s.line).join("\n") || before.samples.slice(0, 20).map((s) => s.line).join("\n")}`,
    );
    const rawPaths = before.samples.filter((s) => Object.values(s.labels).some((v) => v.includes(consumer) || v.includes(`/${DEMO.issuer}/`)));
    assert.deepEqual(rawPaths.map((s) => s.line), [], "no label carries a raw path (issuer or consumer id): routes are labelled by template");

    const secondPut = await put();
    assert.equal(secondPut.status, 204, `the second PUT: ${explain(secondPut, 204)}`);
    const afterText = (await scrape(`${service.url}/metrics`)).text;
    const counters = consumerCounters(parseMetrics(afterText));
    for (const was of counted) {
      const is = counters.find((s) => s.name === was.name && JSON.stringify(s.labels) === JSON.stringify(was.labels));
      t.diagnostic(`${was.line} → ${is?.value}`);
      assert.equal(is?.value, was.value + 1, `expected ${was.name}${JSON.stringify(was.labels)} to go from ${was.value} to ${was.value + 1} after one more PUT, measured ${is?.value}`);
    }

    assert.deepEqual(leaks(afterText), [], "/metrics holds secrets");
  });
});

describe("with --metrics-listen", () => {
  let service;
  let metricsUrl;
  before(async () => {
    metricsUrl = `http://127.0.0.1:${await freePort()}`;
    service = await startService({ args: ["--metrics-listen", new URL(metricsUrl).host] });
  });
  after(async () => service?.stop());

  test("/metrics is served on ADDR and is 404 on the main listener", async () => {
    const there = await scrape(`${metricsUrl}/metrics`);
    assert.match(there.text, /^# TYPE /m, `expected # TYPE lines at ${metricsUrl}/metrics`);
    const main = await request(`${service.url}/metrics`);
    assert.equal(main.status, 404, `GET /metrics on the main listener: ${explain(main, 404)}`);
  });
});

// The attacker of flood.test.mjs, in a worker thread of its own so that its event loop (thousands
// of answers a second) does not delay the legitimate client's measurements in the main thread.
// One closed-loop client per local address, each on one keep-alive connection, sends
// `POST /oauth2/token` with the legitimate client id and a wrong secret, again and again, until
// the deadline. Posts {type: "started"} when the flood begins and {type: "done", …figures} at the end.
import http from "node:http";
import { parentPort, workerData } from "node:worker_threads";

const { url, addresses, durationMs, clientId } = workerData;
const now = () => performance.now();

function attempt(agent, n) {
  const authorization = `Basic ${Buffer.from(`${clientId}:wrong-secret-${n}`).toString("base64")}`;
  const body = "grant_type=client_credentials";
  return new Promise((ok) => {
    const req = http.request(`${url}/oauth2/token`, {
      method: "POST",
      agent,
      headers: { authorization, "content-type": "application/x-www-form-urlencoded", "content-length": body.length },
      timeout: 10_000,
    });
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => ok({ status: res.statusCode, retryAfter: res.headers["retry-after"] }));
      res.on("error", (e) => ok({ status: 0, error: e.code ?? e.message }));
    });
    req.on("timeout", () => req.destroy(new Error("no answer in 10 s")));
    req.on("error", (e) => ok({ status: 0, error: e.code ?? e.message }));
    req.end(body);
  });
}

const started = now();
const deadline = started + durationMs;
const figures = {
  total: 0,
  first429Ms: null,
  beforeFirst429: {},
  afterFirst429: {},
  withoutRetryAfter: 0,
};
const count = (bucket, key) => (bucket[key] = (bucket[key] ?? 0) + 1);

async function client(localAddress, index) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1, localAddress });
  for (let n = 0; now() < deadline; n++) {
    const answer = await attempt(agent, `${index}-${n}`);
    const at = now() - started;
    figures.total++;
    const key = answer.status === 0 ? `error:${answer.error}` : String(answer.status);
    if (answer.status === 429) {
      if (figures.first429Ms === null) figures.first429Ms = at;
      if (!/^\d+$/.test(answer.retryAfter ?? "")) figures.withoutRetryAfter++;
    }
    if (figures.first429Ms !== null && at > figures.first429Ms) count(figures.afterFirst429, key);
    else count(figures.beforeFirst429, key);
    // A refused connection would otherwise spin.
    if (answer.status === 0) await new Promise((ok) => setTimeout(ok, 10));
  }
  agent.destroy();
}

parentPort.postMessage({ type: "started" });
await Promise.all(addresses.map((address, i) => client(address, i)));
parentPort.postMessage({ type: "done", elapsedMs: now() - started, ...figures });

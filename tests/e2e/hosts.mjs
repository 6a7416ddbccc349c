// Two issuer pages on their own origins, for the framing tests: host A and host B are plain HTTP
// servers on two loopback ports, both registered origins of the demo issuer, as two sites of one
// bank would be. Each serves one page that frames the URL in its own fragment and records every
// message its window receives from elsewhere.
import { execFile } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before } from "node:test";
import { bin, startServer } from "./harness.mjs";

/// The host page: frames `decodeURIComponent(location.hash)` as a bank's page frames a token's url
/// (with the attributes docs/protocol.md asks for), keeps what its window hears in
/// `window.__messages`, and offers `window.__settle()`, which resolves once a message the page
/// posts to itself comes back: messages posted to it before that call have been delivered by then.
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>host</title><link rel="icon" href="data:,"></head>
<body><script>
window.__messages = [];
addEventListener("message", (e) => {
  if (e.source !== window) window.__messages.push({ data: e.data, origin: e.origin });
});
window.__settle = () => new Promise((done) => {
  const mark = String(Math.random());
  addEventListener("message", function back(e) {
    if (e.source === window && e.data === mark) { removeEventListener("message", back); done(); }
  });
  postMessage(mark, location.origin);
});
const src = decodeURIComponent(location.hash.slice(1));
if (src) {
  const frame = document.createElement("iframe");
  frame.title = "Card PIN";
  frame.referrerPolicy = "no-referrer";
  frame.src = src;
  document.body.append(frame);
}
</script></body></html>`;

function startHost() {
  const server = createServer((request, response) => {
    response.writeHead(request.url.startsWith("/host.html") ? 200 : 404, { "content-type": "text/html; charset=utf-8" });
    response.end(request.url.startsWith("/host.html") ? PAGE : "");
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

/// For a test file: hosts A and B, then the service (`pinframe serve --demo`) with both registered
/// for the demo issuer before it starts (`pinframe issuer add`; the demo's seed keeps the issuer's
/// origins and adds its own). `running.hostUrl(host, widgetUrl)` is the host page framing `widgetUrl`;
/// `running.routeCount(route)` counts the service's log lines for a route template. `options` go to
/// `startServer` (extra `args`, say).
export function serverWithTwoHosts(options = {}) {
  const running = { server: null, a: null, b: null, hosts: [] };
  before(async () => {
    running.hosts = [await startHost(), await startHost()];
    [running.a, running.b] = running.hosts.map((h) => `http://127.0.0.1:${h.address().port}`);
    const dataDir = mkdtempSync(join(tmpdir(), "pinframe-framing-"));
    const add = ["issuer", "add", "--id", "DEMOISSUER", "--origin", running.a, "--origin", running.b, "--data-dir", dataDir];
    await promisify(execFile)(bin, add);
    running.server = await startServer({ ...options, dataDir });
  });
  after(async () => {
    await running.server?.stop();
    for (const host of running.hosts) host.close();
  });
  running.hostUrl = (host, widgetUrl) => `${host}/host.html#${encodeURIComponent(widgetUrl)}`;
  running.routeCount = (route) => running.server.out.stderr.split("\n").filter((l) => l.includes(`"route":"${route}"`)).length;
  return running;
}

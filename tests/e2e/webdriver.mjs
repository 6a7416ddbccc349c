// A small W3C WebDriver client for WebKitGTK's driver (`WebKitWebDriver`, under `xvfb-run`):
// WebKit is the engine of Safari and of iOS's WKWebView, and playwright-core drives only Chromium
// here. Just what the tests use: a session, navigation, scripts, elements (typing into them and
// clicking them as the user would) and frames.
import { spawn } from "node:child_process";
import { freePort } from "./harness.mjs";

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";


/// Starts `xvfb-run -a WebKitWebDriver` on a free port, in a process group of its own so that
/// `stop()` ends the driver, the browser and the X server together, and waits for them.
export async function startWebKit() {
  const port = await freePort();
  const driver = spawn("xvfb-run", ["-a", "WebKitWebDriver", `--port=${port}`], { stdio: "ignore", detached: true });
  const exited = new Promise((ok) => driver.once("exit", ok));
  const base = `http://127.0.0.1:${port}`;
  let ready = false;
  for (let i = 0; i < 300 && !ready && driver.exitCode === null; i++) {
    ready = await fetch(`${base}/status`).then((r) => r.ok, () => false);
    if (!ready) await new Promise((ok) => setTimeout(ok, 100));
  }
  if (!ready) throw new Error("WebKitWebDriver did not start");
  const stop = async () => {
    try {
      process.kill(-driver.pid, "SIGTERM");
    } catch {
      return; // Already gone.
    }
    await exited;
  };
  return { base, stop };
}

/// One browser session: `await session(driver.base)`; `close()` ends it.
export async function session(base) {
  const call = async (method, path, body) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const { value } = await response.json();
    if (!response.ok) throw new Error(`WebDriver ${method} ${path}: ${value?.error} ${value?.message}`);
    return value;
  };
  const capabilities = { alwaysMatch: { "webkitgtk:browserOptions": { args: ["--automation"] } } };
  const { sessionId } = await call("POST", "/session", { capabilities });
  const at = (path) => `/session/${sessionId}${path}`;
  const self = {
    navigate: (url) => call("POST", at("/url"), { url }),
    /// Runs `script` (a function body) in the current frame and returns its value; a promise it
    /// returns is awaited.
    run: (script, ...args) => call("POST", at("/execute/sync"), { script, args }),
    /// Polls `script` in the current frame until it returns something truthy, and returns that.
    async until(script, ...args) {
      for (let i = 0; i < 300; i++) {
        const value = await self.run(script, ...args);
        if (value) return value;
        await new Promise((ok) => setTimeout(ok, 50));
      }
      throw new Error(`never true: ${script}`);
    },
    /// Into the page's first iframe, once it is there.
    async enterFrame() {
      const element = await self.until("return document.querySelector('iframe')");
      await call("POST", at("/frame"), { id: { [ELEMENT]: element[ELEMENT] } });
    },
    leaveFrame: () => call("POST", at("/frame/parent"), {}),
    /// The current frame's first element matching the CSS `selector`, once it is there.
    async find(selector) {
      for (let i = 0; i < 300; i++) {
        const found = await self.run("return document.querySelector(arguments[0])", selector);
        if (found) return found[ELEMENT];
        await new Promise((ok) => setTimeout(ok, 50));
      }
      throw new Error(`no element ${selector}`);
    },
    /// Types `text` into the element matching `selector`, key by key (WebDriver's Element Send Keys).
    type: async (selector, text) => call("POST", at(`/element/${await self.find(selector)}/value`), { text }),
    /// Clicks the element matching `selector` as a pointer would (WebDriver's Element Click).
    click: async (selector) => call("POST", at(`/element/${await self.find(selector)}/click`), {}),
    close: () => call("DELETE", at("")),
  };
  return self;
}

// The desktop view and set flows in the two engine families besides Chromium: WebKit (Safari's, here
// WebKitGTK through its WebDriver under Xvfb) and Gecko (Firefox ESR, driven by puppeteer-core over
// WebDriver BiDi). In each, a bank's page on another origin frames the widget (hosts.mjs): the view
// shows the demo PIN and the page hears view_pin_success; the set form takes a new PIN typed key by
// key twice, the page hears pin_valid (false … true) and set_pin_success, the card's change counter
// moves by one, and a view with a new token shows the new PIN. Each engine has a service of its own,
// so each starts from the demo PIN.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { DEMO, issueToken } from "./harness.mjs";
import { serverWithTwoHosts } from "./hosts.mjs";
import { session, startWebKit } from "./webdriver.mjs";

const require = createRequire(join(resolve(import.meta.dirname, "../.."), "tools/package.json"));
const FIREFOX = process.env.FIREFOX ?? "/usr/bin/firefox-esr";
const TIMEOUT = { timeout: 90_000 };

/// What a bank's page does with the widget's `resize` events (docs/protocol.md): fits the iframe to
/// the height it hears, so that nothing in the widget is out of view; the heights heard so far
/// included. Run in the host page.
function fitFrame() {
  const frame = document.querySelector("iframe");
  const fit = (data) => {
    if (data?.event === "resize") frame.style.height = `${data.height}px`;
  };
  window.__messages.forEach((m) => fit(m.data));
  addEventListener("message", (e) => fit(e.data));
  frame.style.width = "360px";
  return true;
}

/// WebKit through WebDriver: the widget's frame is entered for each step and left after it.
function webkitDriver(browser) {
  const inFrame = async (step) => {
    await browser.enterFrame();
    try {
      return await step();
    } finally {
      await browser.leaveFrame();
    }
  };
  return {
    async open(url) {
      // From about:blank, so that each host page is a new document, not a fragment change.
      await browser.navigate("about:blank");
      await browser.navigate(url);
      await browser.run(`return (${fitFrame})()`);
    },
    text: (selector) => inFrame(() => browser.until("return document.querySelector(arguments[0])?.textContent", selector)),
    /// As the user does: a click into the field, then the keys. (WebKitGTK's driver refuses keys
    /// for a field in a frame that has not had the focus: "Element is not focusable".)
    type: (selector, text) =>
      inFrame(async () => {
        await browser.click(selector);
        await browser.type(selector, text);
      }),
    click: (selector) => inFrame(() => browser.click(selector)),
    /// Waits until the host page's `window.__messages` satisfies `predicate` (a function's source).
    until: (predicate) => browser.until(`return (${predicate})(window.__messages)`),
    async heard() {
      await browser.run("return window.__settle()");
      return browser.run("return window.__messages");
    },
  };
}

/// Firefox through puppeteer-core (WebDriver BiDi). In the widget's frame only what its CSP allows:
/// no string evaluation (so no waitForFunction there); the keyboard and the mouse act on the whole
/// page, as the user's would, at the widget's element.
function firefoxDriver(page) {
  const element = async (selector) => {
    const frame = await (await page.waitForSelector("iframe")).contentFrame();
    return frame.waitForSelector(selector);
  };
  return {
    async open(url) {
      await page.goto("about:blank");
      await page.goto(url);
      await page.evaluate(`(${fitFrame})()`);
    },
    text: async (selector) => (await element(selector)).evaluate((e) => e.textContent),
    async type(selector, text) {
      await (await element(selector)).evaluate((e) => e.focus());
      await page.keyboard.type(text);
    },
    async click(selector) {
      const target = await element(selector);
      await target.evaluate((e) => e.scrollIntoView({ block: "center" }));
      const inner = await target.evaluate((e) => {
        const r = e.getBoundingClientRect();
        return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
      });
      const outer = await page.$eval("iframe", (f) => {
        const r = f.getBoundingClientRect();
        return { x: r.left + f.clientLeft, y: r.top + f.clientTop };
      });
      await page.mouse.click(outer.x + inner.x, outer.y + inner.y);
    },
    until: (predicate) => page.waitForFunction(`(${predicate})(window.__messages)`),
    heard: () => page.evaluate(async () => (await window.__settle(), window.__messages)),
  };
}

/// The view and set cases for one engine; `start()` resolves with its driver and a `stop()`.
function flows(engine, start, newPin) {
  describe(`${engine}: a bank's page framing the widget`, () => {
    const running = serverWithTwoHosts();
    let browser;
    before(async () => {
      browser = await start();
    });
    after(async () => {
      await browser?.stop();
    });

    /// Opens host A's page framing `url`; returns once the page has heard the widget's height and
    /// fitted the frame to it.
    async function open(url) {
      await browser.driver.open(running.hostUrl(running.a, url));
      await browser.driver.until((m) => m.some((e) => e.data.event === "resize"));
    }

    /// Views the card's PIN in host A's page: what the widget shows and what A heard.
    async function view() {
      const { url } = await issueToken(running.server.url, { parentOrigin: running.a });
      const views = running.routeCount("/api/v1/pin/view");
      await open(url);
      const shown = await browser.driver.text(".pinframe-pin");
      await browser.driver.until((m) => m.some((e) => e.data.event === "view_pin_success"));
      assert.equal(running.routeCount("/api/v1/pin/view"), views + 1);
      return { shown, heard: await browser.driver.heard() };
    }

    test("view: the PIN on screen, and view_pin_success for the page from the widget's origin", TIMEOUT, async () => {
      const { shown, heard } = await view();
      assert.equal(shown, DEMO.pin);
      const outcomes = heard.filter((m) => m.data.event !== "resize");
      assert.deepEqual(outcomes, [{ data: { event: "view_pin_success" }, origin: running.server.url }]);
      const resizes = heard.filter((m) => m.data.event === "resize");
      assert.ok(resizes.length > 0, "the page heard the widget's height");
      for (const { data, origin } of resizes) {
        assert.equal(origin, running.server.url);
        assert.ok(Number.isInteger(data.height) && data.height > 0, JSON.stringify(data));
      }
    });

    test("set: a new PIN typed twice, pin_valid false … true, set_pin_success; a new view shows it", TIMEOUT, async () => {
      const { url } = await issueToken(running.server.url, { action: "SET_PIN", parentOrigin: running.a });
      const counter = running.server.changeCounter();
      const { driver } = browser;
      await open(url);
      await driver.type("#pinframe-new-pin", newPin);
      await driver.type("#pinframe-confirm-pin", newPin);
      // postMessage is asynchronous: the last keystroke's event reaches the page after the typing.
      await driver.until((m) => m.filter((e) => e.data.event === "pin_valid").at(-1)?.data.pin_valid === true);
      await driver.click(".pinframe-submit");
      assert.ok(await driver.text(".pinframe-done"));
      await driver.until((m) => m.some((e) => e.data.event === "set_pin_success"));
      assert.equal(running.server.changeCounter(), counter + 1);

      const heard = await driver.heard();
      assert.ok(heard.every((m) => m.origin === running.server.url), "every event came from the widget's origin");
      const valid = heard.filter((m) => m.data.event === "pin_valid").map((m) => m.data.pin_valid);
      // One event per keystroke, in both fields; only the last one completes the form.
      assert.deepEqual(valid, [...Array(2 * newPin.length - 1).fill(false), true]);
      const outcomes = heard.filter((m) => !["resize", "pin_valid"].includes(m.data.event));
      assert.deepEqual(outcomes, [{ data: { event: "set_pin_success" }, origin: running.server.url }]);

      assert.equal((await view()).shown, newPin);
    });
  });
}

flows(
  "WebKit",
  async () => {
    const driver = await startWebKit();
    try {
      const browser = await session(driver.base);
      return {
        driver: webkitDriver(browser),
        async stop() {
          await browser.close().catch(() => {});
          await driver.stop();
        },
      };
    } catch (e) {
      await driver.stop();
      throw e;
    }
  },
  "80461",
);

flows(
  "Firefox ESR",
  async () => {
    const puppeteer = require("puppeteer-core");
    const browser = await puppeteer.launch({ browser: "firefox", executablePath: FIREFOX, headless: true });
    const page = await browser.newPage();
    return { driver: firefoxDriver(page), stop: () => browser.close() };
  },
  "3691",
);

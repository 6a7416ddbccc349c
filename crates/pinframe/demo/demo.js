// The demo host page: asks its backend for a token, frames the widget with the desktop helper of
// @pinframe/host (packages/pinframe-host/src/pinframe-host.js, which the service serves as is at
// /demo/pinframe-host.js), lists the widget's events, and switches the issuer's theme and the
// cardholder's language.
import { mountPinframe } from "/demo/pinframe-host.js";

const slot = document.getElementById("frame-slot");
const events = document.getElementById("events");
const status = document.getElementById("status");
const reuse = document.getElementById("reuse-link");
const hostSetPin = document.getElementById("host-set-pin");
const language = document.getElementById("language");
const theme = document.getElementById("theme");
let widget = null;
let lastUrl = null;
let lastAction = null;

function record(message) {
  // The frame's height follows the widget; resize events are not listed.
  if (message.event === "resize") return;
  const item = document.createElement("li");
  item.className = "event";
  item.dataset.event = message.event;
  const detail = "pin_valid" in message ? ` (pin_valid: ${message.pin_valid})` : "";
  item.textContent = `${message.event}${detail}`;
  events.append(item);
}

function openWidget(url) {
  widget?.destroy();
  widget = mountPinframe({ container: slot, url, title: "Card PIN", onEvent: record, minHeight: 120 });
}

async function start(action) {
  lastAction = action;
  status.textContent = "Asking the bank's backend for a PIN link…";
  hostSetPin.disabled = action !== "SET_PIN";
  try {
    const body = { action };
    if (language.value) body.language = language.value;
    const response = await fetch("/demo/api/token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`the backend answered ${response.status}`);
    const { url } = await response.json();
    lastUrl = url;
    reuse.disabled = false;
    status.textContent = "";
    openWidget(url);
  } catch (error) {
    status.textContent = `Could not get a PIN link: ${error.message}`;
  }
}

document.getElementById("view-pin").addEventListener("click", () => start("VIEW_PIN"));
document.getElementById("set-pin").addEventListener("click", () => start("SET_PIN"));

// The host may submit the widget's form itself: postMessage({event: "set_pin"}) to the widget's origin.
hostSetPin.addEventListener("click", () => widget?.setPin());

// Shows single use: the same link a second time gets view_pin_error.
reuse.addEventListener("click", () => {
  if (lastUrl) openWidget(lastUrl);
});

// The issuer's theme: what PUT /api/v1/issuers/{issuerId}/theme does, with a sample theme. A
// widget already open keeps its look; the next link gets the new theme.
theme.addEventListener("change", async () => {
  status.textContent = "Changing the issuer's theme…";
  const response = await fetch("/demo/api/theme", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ theme: theme.value }),
  });
  status.textContent = response.ok ? `Theme: ${theme.options[theme.selectedIndex].text}.` : "Could not change the theme.";
  if (response.ok && lastAction) start(lastAction);
});

language.addEventListener("change", () => {
  if (lastAction) start(lastAction);
});

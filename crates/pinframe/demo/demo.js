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
const startButtons = [document.getElementById("view-pin"), document.getElementById("set-pin")];
let widget = null;
let lastUrl = null;
let lastAction = null;
// The host's own submit: only for an open set page whose form is valid, and not while a
// submission is on its way.
let setOpen = false;
let pinValid = false;
let submitting = false;

function updateHostSetPin() {
  hostSetPin.disabled = !setOpen || !pinValid || submitting;
}

function record(message) {
  // The frame's height follows the widget; resize events are not listed.
  if (message.event === "resize") return;
  if (message.event === "pin_valid") pinValid = message.pin_valid === true;
  if (["set_pin_success", "set_pin_error", "set_pin_validation_error", "error"].includes(message.event)) submitting = false;
  if (["set_pin_success", "set_pin_error", "token_expired"].includes(message.event)) setOpen = false;
  updateHostSetPin();
  const item = document.createElement("li");
  item.className = "event";
  item.dataset.event = message.event;
  if (message.code) item.dataset.code = message.code;
  const detail =
    "pin_valid" in message ? ` (pin_valid: ${message.pin_valid})` : message.code ? ` (code: ${message.code})` : "";
  item.textContent = `${message.event}${detail}`;
  events.append(item);
  if (message.event === "token_expiring") status.textContent = "The link expires in 10 seconds; a real host fetches a fresh one from its backend now.";
  if (message.event === "token_expired") status.textContent = "The link expired unused. Open a new one.";
}

function openWidget(url) {
  widget?.destroy();
  setOpen = lastAction === "SET_PIN";
  pinValid = false;
  submitting = false;
  updateHostSetPin();
  widget = mountPinframe({ container: slot, url, title: "Card PIN", onEvent: record, minHeight: 120 });
}

async function start(action) {
  lastAction = action;
  status.textContent = "Asking the bank's backend for a PIN link…";
  // One link at a time: the buttons wait for the backend's answer.
  for (const button of startButtons) button.disabled = true;
  setOpen = false;
  updateHostSetPin();
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
  } finally {
    for (const button of startButtons) button.disabled = false;
  }
}

document.getElementById("view-pin").addEventListener("click", () => start("VIEW_PIN"));
document.getElementById("set-pin").addEventListener("click", () => start("SET_PIN"));

// The host may submit the widget's form itself: postMessage({event: "set_pin"}) to the widget's origin.
hostSetPin.addEventListener("click", () => {
  if (!widget || hostSetPin.disabled) return;
  submitting = true;
  updateHostSetPin();
  widget.setPin();
});

// Shows single use: the same link a second time gets view_pin_error.
reuse.addEventListener("click", () => {
  if (lastUrl) openWidget(lastUrl);
});

// The issuer's theme: what PUT /api/v1/issuers/{issuerId}/theme does, with a sample theme. Neither
// a theme nor a language change asks for a link (each link is single use, and a bank's backend
// counts them): a widget already open keeps its look and language; the next link gets the new ones.
theme.addEventListener("change", async () => {
  status.textContent = "Changing the issuer's theme…";
  theme.disabled = true;
  try {
    const response = await fetch("/demo/api/theme", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ theme: theme.value }),
    });
    const name = theme.options[theme.selectedIndex].text;
    status.textContent = response.ok ? `Theme: ${name}. The next PIN link opens with it.` : "Could not change the theme.";
  } catch (error) {
    status.textContent = `Could not change the theme: ${error.message}`;
  } finally {
    theme.disabled = false;
  }
});

language.addEventListener("change", () => {
  const name = language.options[language.selectedIndex].text;
  status.textContent = `Cardholder's language: ${name}. The next PIN link opens in it.`;
});

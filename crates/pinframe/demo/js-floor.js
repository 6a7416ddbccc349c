// make bench's JavaScript floor (`/demo/js-floor.html#token=…`): the requests the widget makes, in
// the widget's order (the session, then the view with a fresh P-256 key), and the PIN's JWE
// (ECDH-ES + A256GCM) decrypted with the browser's WebCrypto rather than wasm.
// Shows the PIN as `.pinframe-pin`, or the failure as `.pinframe-error`.
import { decryptCompact } from "/demo/jwe-webcrypto.js";

const token = new URLSearchParams(location.hash.slice(1)).get("token");
history.replaceState(null, "", location.pathname);
const post = (path, body) =>
  fetch(path, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    cache: "no-store",
    credentials: "omit",
    referrerPolicy: "no-referrer",
  });

async function pin() {
  // The key is made while the session request is on the network, as the widget does.
  const keys = crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
  const session = await post("/api/v1/pin/session");
  if (!session.ok) throw new Error(`session: ${session.status}`);
  await session.json();
  const { publicKey, privateKey } = await keys;
  const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", publicKey);
  const view = await post("/api/v1/pin/view", { epk: { kty, crv, x, y } });
  if (!view.ok) throw new Error(`view: ${view.status}`);
  return JSON.parse(await decryptCompact(privateKey, (await view.json()).encryptedPin)).pin;
}

const main = document.querySelector("main");
pin().then(
  (digits) => {
    const shown = document.createElement("p");
    shown.className = "pinframe-pin";
    shown.textContent = digits;
    main.append(shown);
  },
  (error) => {
    const failed = document.createElement("p");
    failed.className = "pinframe-error";
    failed.textContent = String(error.message);
    main.append(failed);
  },
);

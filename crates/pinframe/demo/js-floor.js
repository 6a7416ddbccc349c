// make bench's JavaScript floor (`/demo/js-floor.html#token=…`): the requests the widget makes, in
// the widget's order (the session, then the view with a fresh P-256 key), and the PIN's JWE
// (ECDH-ES + A256GCM, RFC 7518 §4.6) decrypted with the browser's WebCrypto rather than wasm.
// Shows the PIN as `.pinframe-pin`, or the failure as `.pinframe-error`.
const base64url = (text) => {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
};
const u32 = (n) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const field = (bytes) => [...u32(bytes.length), ...bytes];

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
  const [protectedHeader, encryptedKey, iv, ciphertext, tag] = (await view.json()).encryptedPin.split(".");
  const header = JSON.parse(new TextDecoder().decode(base64url(protectedHeader)));
  if (header.alg !== "ECDH-ES" || header.enc !== "A256GCM" || encryptedKey !== "") throw new Error("not ECDH-ES + A256GCM");
  const theirs = await crypto.subtle.importKey(
    "jwk",
    { kty: "EC", crv: "P-256", x: header.epk.x, y: header.epk.y },
    { name: "ECDH", namedCurve: "P-256" },
    false,
    [],
  );
  const z = new Uint8Array(await crypto.subtle.deriveBits({ name: "ECDH", public: theirs }, privateKey, 256));
  // Concat KDF, one round of SHA-256: counter, Z, AlgorithmID (enc), PartyUInfo, PartyVInfo, keydatalen.
  const apu = header.apu ? base64url(header.apu) : [];
  const apv = header.apv ? base64url(header.apv) : [];
  const info = [...u32(1), ...z, ...field(new TextEncoder().encode(header.enc)), ...field(apu), ...field(apv), ...u32(256)];
  const cek = await crypto.subtle.importKey("raw", await crypto.subtle.digest("SHA-256", new Uint8Array(info)), "AES-GCM", false, ["decrypt"]);
  const sealed = new Uint8Array([...base64url(ciphertext), ...base64url(tag)]);
  const additionalData = new TextEncoder().encode(protectedHeader);
  const plaintext = await crypto.subtle.decrypt({ name: "AES-GCM", iv: base64url(iv), additionalData }, cek, sealed);
  return JSON.parse(new TextDecoder().decode(plaintext)).pin;
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

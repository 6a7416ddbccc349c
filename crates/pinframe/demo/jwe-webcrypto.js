// A compact JWE (RFC 7516) with ECDH-ES direct key agreement and the Concat KDF (RFC 7518 §4.6)
// and A256GCM, decrypted with the browser's WebCrypto alone: what a page would write without
// WebAssembly. make bench uses it twice: the JavaScript floor (/demo/js-floor.js) and the decrypt
// micro-benchmark against the widget's wasm (bench/decrypt.js).
const b64url = (text) => Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
const ascii = (text) => new TextEncoder().encode(text);
const u32 = (n) => new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};
const withLength = (bytes) => concat(u32(bytes.length), bytes);

/// The plaintext of `token`, a JWE to `privateKey` (a WebCrypto ECDH P-256 key), as text.
export async function decryptCompact(privateKey, token) {
  const [protectedHeader, encryptedKey, iv, ciphertext, tag] = token.split(".");
  if (encryptedKey !== "") throw new Error("not direct key agreement");
  const header = JSON.parse(new TextDecoder().decode(b64url(protectedHeader)));
  if (header.alg !== "ECDH-ES" || header.enc !== "A256GCM") throw new Error("another algorithm");
  const epk = await crypto.subtle.importKey(
    "jwk",
    { kty: "EC", crv: "P-256", x: header.epk.x, y: header.epk.y },
    { name: "ECDH", namedCurve: "P-256" },
    false,
    [],
  );
  const z = new Uint8Array(await crypto.subtle.deriveBits({ name: "ECDH", public: epk }, privateKey, 256));
  const apu = header.apu ? b64url(header.apu) : new Uint8Array();
  const apv = header.apv ? b64url(header.apv) : new Uint8Array();
  const otherInfo = concat(withLength(ascii(header.enc)), withLength(apu), withLength(apv), u32(256));
  const cek = await crypto.subtle.digest("SHA-256", concat(u32(1), z, otherInfo));
  const key = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["decrypt"]);
  const plaintext = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: b64url(iv), additionalData: ascii(protectedHeader), tagLength: 128 },
    key,
    concat(b64url(ciphertext), b64url(tag)),
  );
  return new TextDecoder().decode(plaintext);
}

// make bench, in the browser: one ECDH-ES + A256GCM compact JWE decrypted over and over, by the
// widget's wasm (pinframe-core through crates/pinframe-bench-wasm) and by WebCrypto. Each sample
// times a batch and divides, since the browser coarsens performance.now() to 100 µs or so.
import init, { Decryptor } from "./wasm/pinframe_bench_wasm.js";

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

/// RFC 7516 compact JWE, RFC 7518 §4.6 ECDH-ES (direct) with the Concat KDF, and A256GCM: what a
/// page would write with crypto.subtle alone.
async function webcryptoDecrypt(privateKey, token) {
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
  const otherInfo = concat(withLength(ascii("A256GCM")), withLength(apu), withLength(apv), u32(256));
  const cek = await crypto.subtle.digest("SHA-256", concat(u32(1), z, otherInfo));
  const key = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["decrypt"]);
  const plaintext = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: b64url(iv), additionalData: ascii(protectedHeader), tagLength: 128 },
    key,
    concat(b64url(ciphertext), b64url(tag)),
  );
  return new TextDecoder().decode(plaintext);
}

/// Returns per-decrypt microseconds, `samples` of each, the two kinds interleaved.
window.bench = async function bench(jwk, token, expected, samples, batch) {
  await init();
  const decryptor = new Decryptor(JSON.stringify(jwk));
  const privateKey = await crypto.subtle.importKey("jwk", jwk, { name: "ECDH", namedCurve: "P-256" }, false, [
    "deriveBits",
  ]);
  for (const got of [decryptor.decrypt(token), await webcryptoDecrypt(privateKey, token)]) {
    if (got !== expected) throw new Error(`decrypted ${got}, expected ${expected}`);
  }
  for (let i = 0; i < batch; i++) {
    decryptor.decrypt(token);
    await webcryptoDecrypt(privateKey, token);
  }
  const wasm = [];
  const webcrypto = [];
  for (let s = 0; s < samples; s++) {
    let start = performance.now();
    for (let i = 0; i < batch; i++) decryptor.decrypt(token);
    wasm.push(((performance.now() - start) * 1000) / batch);
    start = performance.now();
    for (let i = 0; i < batch; i++) await webcryptoDecrypt(privateKey, token);
    webcrypto.push(((performance.now() - start) * 1000) / batch);
  }
  decryptor.free();
  return { wasm, webcrypto };
};
window.benchReady = true;

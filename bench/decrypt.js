// make bench, in the browser: one ECDH-ES + A256GCM compact JWE decrypted over and over, by the
// widget's wasm (pinframe-core through crates/pinframe-bench-wasm) and by WebCrypto. Each sample
// times a batch and divides, since the browser coarsens performance.now() to 100 µs or so.
import init, { Decryptor } from "./wasm/pinframe_bench_wasm.js";
import { decryptCompact as webcryptoDecrypt } from "./jwe-webcrypto.js";

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

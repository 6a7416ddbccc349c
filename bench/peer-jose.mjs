// make bench's peer: panva jose on Node, single-core JWE ECDH-ES + A256GCM encrypts per second of
// the same payload the service encrypts to the widget. Each encrypt awaits the last, so one
// operation is in flight at a time. Prints one JSON line: {"per_s":…,"runs":[…]}.
// Usage: node bench/peer-jose.mjs [seconds] [runs]
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const require = createRequire(join(root, "tools/package.json"));
const { CompactEncrypt, compactDecrypt, generateKeyPair } = await import(require.resolve("jose"));

const seconds = Number(process.argv[2] ?? 3);
const runs = Number(process.argv[3] ?? 3);
const { publicKey, privateKey } = await generateKeyPair("ECDH-ES", { crv: "P-256" });
const payload = new TextEncoder().encode('{"pin":"2468"}');
const encrypt = () =>
  new CompactEncrypt(payload).setProtectedHeader({ alg: "ECDH-ES", enc: "A256GCM" }).encrypt(publicKey);

const check = await compactDecrypt(await encrypt(), privateKey);
if (new TextDecoder().decode(check.plaintext) !== '{"pin":"2468"}') throw new Error("jose round trip failed");
for (let i = 0; i < 200; i++) await encrypt();
const rates = [];
for (let r = 0; r < runs; r++) {
  const start = performance.now();
  let count = 0;
  while (performance.now() - start < seconds * 1000) {
    await encrypt();
    count++;
  }
  rates.push(count / ((performance.now() - start) / 1000));
}
const sorted = [...rates].sort((a, b) => a - b);
console.log(JSON.stringify({ per_s: Math.round(sorted[Math.floor(sorted.length / 2)]), runs: rates.map(Math.round) }));

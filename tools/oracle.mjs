// Test oracle: panva `jose` (npm) producing and reading ECDH-ES + A256GCM compact JWEs.
//
//   node oracle.mjs encrypt JWKFILE [APU APV]   plaintext on stdin, compact JWE on stdout
//   node oracle.mjs decrypt JWKFILE             compact JWE on stdin, plaintext bytes on stdout
//   node oracle.mjs keygen                      a private P-256 JWK on stdout
// APU and APV are plain text; they are written base64url in the header, as RFC 7518 §4.6.1 says.
import { readFileSync } from 'node:fs';
import { CompactEncrypt, compactDecrypt, importJWK, exportJWK, generateKeyPair, calculateJwkThumbprint } from 'jose';

const [cmd, file, apu, apv] = process.argv.slice(2);
const stdin = () => readFileSync(0);

if (cmd === 'encrypt') {
  const jwk = JSON.parse(readFileSync(file, 'utf8'));
  const { d, ...pub } = jwk;
  const key = await importJWK(pub, 'ECDH-ES');
  const header = { alg: 'ECDH-ES', enc: 'A256GCM' };
  if (jwk.kid) header.kid = jwk.kid;
  const builder = new CompactEncrypt(new Uint8Array(stdin())).setProtectedHeader(header);
  if (apu !== undefined) {
    builder.setKeyManagementParameters({ apu: new TextEncoder().encode(apu), apv: new TextEncoder().encode(apv) });
  }
  process.stdout.write(await builder.encrypt(key));
} else if (cmd === 'decrypt') {
  const jwk = JSON.parse(readFileSync(file, 'utf8'));
  const key = await importJWK(jwk, 'ECDH-ES');
  const { plaintext } = await compactDecrypt(stdin().toString('utf8').trim(), key);
  process.stdout.write(plaintext);
} else if (cmd === 'keygen') {
  const { privateKey } = await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true });
  const jwk = await exportJWK(privateKey);
  jwk.kid = await calculateJwkThumbprint(jwk);
  process.stdout.write(JSON.stringify(jwk));
} else {
  process.stderr.write(`unknown command ${cmd}\n`);
  process.exit(2);
}

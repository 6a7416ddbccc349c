//! WebCrypto as an oracle inside the browser: `crypto.subtle` does the ECDH, SHA-256 and AES-GCM (code
//! nobody here wrote), a few lines of JS below do the Concat KDF and the compact framing. JWEs made by
//! our wasm must decrypt there, and JWEs made there must decrypt in our wasm.
#![cfg(target_arch = "wasm32")]

use pinframe_core::jwe::{self, PartyInfo};
use pinframe_core::rand_core::OsRng;
use pinframe_core::PrivateJwk;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
const te = new TextEncoder();
const b64u = {
  enc: (b) => btoa(String.fromCharCode(...b)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
  dec: (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)),
};
const be32 = (n) => new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
const cat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let i = 0;
  for (const p of parts) { out.set(p, i); i += p.length; }
  return out;
};
const ECDH = { name: 'ECDH', namedCurve: 'P-256' };
// RFC 7518 §4.6.2, one SHA-256 round for a 256-bit key.
async function concatKdf(z, enc, apu, apv) {
  const alg = te.encode(enc);
  const info = cat(be32(1), z, be32(alg.length), alg, be32(apu.length), apu, be32(apv.length), apv, be32(256));
  return crypto.subtle.importKey('raw', await crypto.subtle.digest('SHA-256', info), 'AES-GCM', false,
    ['encrypt', 'decrypt']);
}
export async function webcrypto_decrypt(jwkJson, compact) {
  const { x, y, d } = JSON.parse(jwkJson);
  const [h, , iv, ct, tag] = compact.split('.');
  const header = JSON.parse(new TextDecoder().decode(b64u.dec(h)));
  if (header.alg !== 'ECDH-ES' || header.enc !== 'A256GCM') throw new Error('unexpected header');
  const priv = await crypto.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x, y, d }, ECDH, false, ['deriveBits']);
  const epk = await crypto.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: header.epk.x, y: header.epk.y },
    ECDH, false, []);
  const z = new Uint8Array(await crypto.subtle.deriveBits({ name: 'ECDH', public: epk }, priv, 256));
  const party = (v) => (v === undefined ? new Uint8Array() : b64u.dec(v));
  const cek = await concatKdf(z, header.enc, party(header.apu), party(header.apv));
  const pt = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: b64u.dec(iv), additionalData: te.encode(h) }, cek,
    cat(b64u.dec(ct), b64u.dec(tag)));
  return new Uint8Array(pt);
}
export async function webcrypto_encrypt(jwkJson, plaintext) {
  const { x, y, kid } = JSON.parse(jwkJson);
  const recipient = await crypto.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x, y }, ECDH, false, []);
  const eph = await crypto.subtle.generateKey(ECDH, true, ['deriveBits']);
  const epk = await crypto.subtle.exportKey('jwk', eph.publicKey);
  const header = { alg: 'ECDH-ES', enc: 'A256GCM', kid, epk: { kty: 'EC', crv: 'P-256', x: epk.x, y: epk.y } };
  const h = b64u.enc(te.encode(JSON.stringify(header)));
  const z = new Uint8Array(await crypto.subtle.deriveBits({ name: 'ECDH', public: recipient }, eph.privateKey, 256));
  const cek = await concatKdf(z, 'A256GCM', new Uint8Array(), new Uint8Array());
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: te.encode(h) },
    cek, plaintext));
  const ct = sealed.slice(0, sealed.length - 16), tag = sealed.slice(sealed.length - 16);
  return [h, '', b64u.enc(iv), b64u.enc(ct), b64u.enc(tag)].join('.');
}
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    async fn webcrypto_decrypt(jwk: &str, compact: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    async fn webcrypto_encrypt(jwk: &str, plaintext: &[u8]) -> Result<JsValue, JsValue>;
}

fn bytes(value: JsValue) -> Vec<u8> {
    js_sys::Uint8Array::new(&value).to_vec()
}

#[wasm_bindgen_test]
async fn webcrypto_decrypts_what_our_wasm_encrypts() {
    let key = PrivateJwk::generate(&mut OsRng);
    let private = key.to_json();
    for plaintext in [&br#"{"pin":"2468"}"#[..], b"", &[0u8, 1, 2, 255]] {
        let token = jwe::encrypt(key.public(), plaintext, &mut OsRng);
        assert_eq!(bytes(webcrypto_decrypt(&private, &token).await.unwrap()), plaintext);
    }
    let party = PartyInfo { apu: Some(b"widget"), apv: Some(b"service") };
    let token = jwe::encrypt_with(key.public(), b"with apu/apv", party, &mut OsRng);
    assert_eq!(bytes(webcrypto_decrypt(&private, &token).await.unwrap()), b"with apu/apv");
}

#[wasm_bindgen_test]
async fn our_wasm_decrypts_what_webcrypto_encrypts() {
    let key = PrivateJwk::generate(&mut OsRng);
    let public = key.public().to_json();
    for plaintext in [&br#"{"pin":"97531"}"#[..], b"", &[7u8; 300]] {
        let token = webcrypto_encrypt(&public, plaintext).await.unwrap().as_string().unwrap();
        assert_eq!(&**jwe::decrypt(&key, &token).unwrap(), plaintext);
    }
}

#[wasm_bindgen_test]
async fn webcrypto_rejects_a_jwe_for_another_key() {
    // The oracle is not vacuous: it fails where it should.
    let key = PrivateJwk::generate(&mut OsRng);
    let other = PrivateJwk::generate(&mut OsRng);
    let token = jwe::encrypt(key.public(), b"secret", &mut OsRng);
    assert!(webcrypto_decrypt(&other.to_json(), &token).await.is_err());
}

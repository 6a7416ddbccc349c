//! The widget's decrypt, for `make bench` only: the same `pinframe_core::jwe::decrypt` the widget
//! runs on the view's answer, built with the widget's profile (`--profile widget`, then
//! `wasm-opt -Oz`) and called from JavaScript once per token, as the widget calls it once per view.
#![forbid(unsafe_code)]

use pinframe_core::{jwe, PrivateJwk};
use wasm_bindgen::prelude::*;

/// A private key held in wasm memory, as the widget holds its ephemeral key.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Decryptor {
    key: PrivateJwk,
}

#[wasm_bindgen]
impl Decryptor {
    /// Takes an EC P-256 private JWK.
    #[wasm_bindgen(constructor)]
    pub fn new(jwk: &str) -> Result<Decryptor, JsError> {
        PrivateJwk::parse(jwk).map(|key| Self { key }).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Decrypts a compact JWE (ECDH-ES, A256GCM) and returns its plaintext as text.
    pub fn decrypt(&self, token: &str) -> Result<String, JsError> {
        let plaintext = jwe::decrypt(&self.key, token).map_err(|_| JsError::new("the JWE does not decrypt"))?;
        String::from_utf8(plaintext.to_vec()).map_err(|_| JsError::new("the plaintext is not text"))
    }
}

//! The core's hot paths, one core at a time: JWE (ECDH-ES + A256GCM) encrypt and decrypt of a PIN
//! payload, and ISO 9564-1 PIN blocks. `make bench` reads `jwe/encrypt` into
//! `core_jwe_encrypt_per_s` (target/bench/summary.json).

use criterion::{criterion_group, criterion_main, Criterion};
use pinframe_core::rand_core::OsRng;
use pinframe_core::{jwe, pinblock, Pan, Pin, PinBlockKey, PrivateJwk};
use std::hint::black_box;

/// The view's plaintext: what the service encrypts to the widget.
const PAYLOAD: &[u8] = br#"{"pin":"2468"}"#;

fn jwe_benches(c: &mut Criterion) {
    let key = PrivateJwk::generate(&mut OsRng);
    let token = jwe::encrypt(key.public(), PAYLOAD, &mut OsRng);
    let mut group = c.benchmark_group("jwe");
    group.bench_function("encrypt", |b| b.iter(|| jwe::encrypt(black_box(key.public()), PAYLOAD, &mut OsRng)));
    group.bench_function("decrypt", |b| b.iter(|| jwe::decrypt(black_box(&key), black_box(&token)).unwrap()));
    group.bench_function("generate_key", |b| b.iter(|| PrivateJwk::generate(&mut OsRng)));
    group.finish();
}

fn pinblock_benches(c: &mut Criterion) {
    let pin = Pin::parse("2468").unwrap();
    let pan = Pan::parse("5555555551234567").unwrap();
    let aes = PinBlockKey::from_bytes(&[7; 16]).unwrap();
    let iso0 = pinblock::encode_iso0(&pin, &pan);
    let iso4 = pinblock::encode_iso4(&pin, &pan, &aes, &mut OsRng);
    let mut group = c.benchmark_group("pinblock");
    group.bench_function("iso0_encode", |b| b.iter(|| pinblock::encode_iso0(black_box(&pin), black_box(&pan))));
    group.bench_function("iso0_decode", |b| b.iter(|| pinblock::decode_iso0(black_box(&iso0), &pan).unwrap()));
    group.bench_function("iso4_encode", |b| b.iter(|| pinblock::encode_iso4(black_box(&pin), &pan, &aes, &mut OsRng)));
    group.bench_function("iso4_decode", |b| b.iter(|| pinblock::decode_iso4(black_box(&iso4), &pan, &aes).unwrap()));
    group.finish();
}

criterion_group!(benches, jwe_benches, pinblock_benches);
criterion_main!(benches);

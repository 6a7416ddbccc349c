//! ISO 9564-1:2017 PIN blocks: formats 0, 1 and 3 (64-bit, for TDES-era systems) and format 4
//! (128-bit, AES).
//!
//! - Format 0: `0 N P…P F…F`, XORed with the PAN field `0000` + the 12 rightmost PAN digits
//!   excluding the check digit.
//! - Format 1: `1 N P…P R…R` with random fill (the "transaction field"); no PAN.
//! - Format 3: `3 N P…P X…X` with random fill from `A`–`F`, XORed with the same PAN field as format 0.
//! - Format 4: plain PIN field `4 N P…P A…A` (16 nibbles) then 8 random bytes; PAN field
//!   `M` (PAN length − 12) + the PAN + `0` fill to 32 nibbles; the block is
//!   `E_K(E_K(PIN field) XOR PAN field)` under an AES key of 128, 192 or 256 bits.
//!
//! Decoding checks every fixed nibble, so a block decoded with the wrong PAN or key fails instead of
//! returning a wrong PIN, except where the format cannot tell (formats 0 and 3 with a PAN that
//! shares the field, format 1 always).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use aes::{Aes128, Aes192, Aes256};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::error::FormatError;
use crate::pin::{Pan, Pin};

/// A PIN-block format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PinBlockFormat {
    /// ISO 9564-1 format 0 (ANSI X9.8): PIN XOR PAN, fill `F`.
    Iso0,
    /// ISO 9564-1 format 1: PIN with random fill, no PAN.
    Iso1,
    /// ISO 9564-1 format 3: PIN XOR PAN, random fill `A`–`F`.
    Iso3,
    /// ISO 9564-1 format 4: AES, 128-bit block, PAN enciphered in.
    Iso4,
}

impl PinBlockFormat {
    /// Parses `iso0`, `iso1`, `iso3` or `iso4` (any case).
    pub fn parse(name: &str) -> Result<Self, FormatError> {
        match name.to_ascii_lowercase().as_str() {
            "iso0" => Ok(Self::Iso0),
            "iso1" => Ok(Self::Iso1),
            "iso3" => Ok(Self::Iso3),
            "iso4" => Ok(Self::Iso4),
            _ => Err(FormatError::PinBlockFormat),
        }
    }

    /// Whether the format binds the PIN to a PAN.
    pub fn needs_pan(self) -> bool {
        !matches!(self, Self::Iso1)
    }

    /// Block length in bytes: 8, or 16 for format 4.
    pub fn block_len(self) -> usize {
        match self {
            Self::Iso4 => 16,
            _ => 8,
        }
    }
}

impl fmt::Display for PinBlockFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Iso0 => "iso0",
            Self::Iso1 => "iso1",
            Self::Iso3 => "iso3",
            Self::Iso4 => "iso4",
        })
    }
}

/// An AES key for format 4. Zeroizes on drop (the `aes` crate's `zeroize` feature).
pub enum PinBlockKey {
    /// AES-128.
    Aes128(Aes128),
    /// AES-192.
    Aes192(Aes192),
    /// AES-256.
    Aes256(Aes256),
}

impl PinBlockKey {
    /// Builds a key from 16, 24 or 32 bytes.
    pub fn from_bytes(key: &[u8]) -> Result<Self, FormatError> {
        match key.len() {
            16 => Aes128::new_from_slice(key).map(Self::Aes128),
            24 => Aes192::new_from_slice(key).map(Self::Aes192),
            32 => Aes256::new_from_slice(key).map(Self::Aes256),
            _ => return Err(FormatError::PinBlockKey),
        }
        .map_err(|_| FormatError::PinBlockKey)
    }

    /// Builds a key from 32, 48 or 64 hexadecimal digits.
    pub fn from_hex(hex: &str) -> Result<Self, FormatError> {
        let bytes = Zeroizing::new(hex_decode(hex).ok_or(FormatError::PinBlockKey)?);
        Self::from_bytes(&bytes)
    }

    fn encrypt(&self, block: &mut [u8; 16]) {
        let block = block.into();
        match self {
            Self::Aes128(k) => k.encrypt_block(block),
            Self::Aes192(k) => k.encrypt_block(block),
            Self::Aes256(k) => k.encrypt_block(block),
        }
    }

    fn decrypt(&self, block: &mut [u8; 16]) {
        let block = block.into();
        match self {
            Self::Aes128(k) => k.decrypt_block(block),
            Self::Aes192(k) => k.decrypt_block(block),
            Self::Aes256(k) => k.decrypt_block(block),
        }
    }
}

impl fmt::Debug for PinBlockKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bits = match self {
            Self::Aes128(_) => 128,
            Self::Aes192(_) => 192,
            Self::Aes256(_) => 256,
        };
        f.debug_struct("PinBlockKey").field("bits", &bits).finish_non_exhaustive()
    }
}

/// Encodes `pin` in `format`. Formats 0, 3 and 4 need `pan`; format 4 needs `key`.
pub fn encode(
    format: PinBlockFormat,
    pin: &Pin,
    pan: Option<&Pan>,
    key: Option<&PinBlockKey>,
    rng: &mut impl CryptoRngCore,
) -> Result<Zeroizing<Vec<u8>>, FormatError> {
    let need_pan = || pan.ok_or(FormatError::PinBlockNeedsPan);
    Ok(Zeroizing::new(match format {
        PinBlockFormat::Iso0 => encode_iso0(pin, need_pan()?).to_vec(),
        PinBlockFormat::Iso1 => encode_iso1(pin, rng).to_vec(),
        PinBlockFormat::Iso3 => encode_iso3(pin, need_pan()?, rng).to_vec(),
        PinBlockFormat::Iso4 => {
            let key = key.ok_or(FormatError::PinBlockKey)?;
            encode_iso4(pin, need_pan()?, key, rng).to_vec()
        }
    }))
}

/// Decodes a `format` block. Formats 0, 3 and 4 need `pan`; format 4 needs `key`.
pub fn decode(
    format: PinBlockFormat,
    block: &[u8],
    pan: Option<&Pan>,
    key: Option<&PinBlockKey>,
) -> Result<Pin, FormatError> {
    let need_pan = || pan.ok_or(FormatError::PinBlockNeedsPan);
    match format {
        PinBlockFormat::Iso0 => decode_iso0(&block8(block)?, need_pan()?),
        PinBlockFormat::Iso1 => decode_iso1(&block8(block)?),
        PinBlockFormat::Iso3 => decode_iso3(&block8(block)?, need_pan()?),
        PinBlockFormat::Iso4 => {
            let key = key.ok_or(FormatError::PinBlockKey)?;
            let block: [u8; 16] = block.try_into().map_err(|_| FormatError::PinBlockHex)?;
            decode_iso4(&block, need_pan()?, key)
        }
    }
}

fn block8(block: &[u8]) -> Result<[u8; 8], FormatError> {
    block.try_into().map_err(|_| FormatError::PinBlockHex)
}

/// Format 0: PIN 1234, PAN 5555555551234567 → `041261AAAAEDCBA9`.
pub fn encode_iso0(pin: &Pin, pan: &Pan) -> [u8; 8] {
    let clear = clear_field_8(0, pin, |_| 0xF);
    xor8(&clear, &pan_field_8(pan))
}

/// Decodes a format 0 block; the fill must be all `F`.
pub fn decode_iso0(block: &[u8; 8], pan: &Pan) -> Result<Pin, FormatError> {
    let clear = Zeroizing::new(xor8(block, &pan_field_8(pan)));
    parse_clear_field_8(&clear, 0, |n| n == 0xF)
}

/// Format 1: random fill, no PAN.
pub fn encode_iso1(pin: &Pin, rng: &mut impl CryptoRngCore) -> [u8; 8] {
    *clear_field_8(1, pin, |_| random_nibble(rng, 0, 16))
}

/// Decodes a format 1 block; any fill is accepted.
pub fn decode_iso1(block: &[u8; 8]) -> Result<Pin, FormatError> {
    parse_clear_field_8(block, 1, |_| true)
}

/// Format 3: random fill from `A`–`F`, XORed with the PAN field.
pub fn encode_iso3(pin: &Pin, pan: &Pan, rng: &mut impl CryptoRngCore) -> [u8; 8] {
    let clear = clear_field_8(3, pin, |_| random_nibble(rng, 0xA, 6));
    xor8(&clear, &pan_field_8(pan))
}

/// Decodes a format 3 block; the fill must be `A`–`F`.
pub fn decode_iso3(block: &[u8; 8], pan: &Pan) -> Result<Pin, FormatError> {
    let clear = Zeroizing::new(xor8(block, &pan_field_8(pan)));
    parse_clear_field_8(&clear, 3, |n| (0xA..=0xF).contains(&n))
}

/// Format 4: `E_K(E_K(plain PIN field) XOR plain PAN field)`.
pub fn encode_iso4(pin: &Pin, pan: &Pan, key: &PinBlockKey, rng: &mut impl CryptoRngCore) -> [u8; 16] {
    let mut block = Zeroizing::new([0u8; 16]);
    let nibbles = Zeroizing::new(pin_nibbles(4, pin, |_| 0xA));
    pack(nibbles.as_ref(), &mut block[..8]);
    rng.fill_bytes(&mut block[8..]);
    key.encrypt(&mut block);
    for (b, p) in block.iter_mut().zip(pan_field_16(pan)) {
        *b ^= p;
    }
    key.encrypt(&mut block);
    *block
}

/// Decodes a format 4 block; the control, length and `A` fill nibbles must all check.
pub fn decode_iso4(block: &[u8; 16], pan: &Pan, key: &PinBlockKey) -> Result<Pin, FormatError> {
    let mut clear = Zeroizing::new(*block);
    key.decrypt(&mut clear);
    for (b, p) in clear.iter_mut().zip(pan_field_16(pan)) {
        *b ^= p;
    }
    key.decrypt(&mut clear);
    let mut head = Zeroizing::new([0u8; 8]);
    head.copy_from_slice(&clear[..8]);
    parse_clear_field_8(&head, 4, |n| n == 0xA)
}

/// Upper-case hexadecimal.
pub fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xF)]));
    }
    out
}

/// Hexadecimal of either case; `None` on an odd length or another character.
pub fn hex_decode(text: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    bytes.chunks(2).map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?)).collect()
}

/// Control nibble, length nibble, PIN nibbles, then `fill(index)` up to 16 nibbles.
fn pin_nibbles(control: u8, pin: &Pin, mut fill: impl FnMut(usize) -> u8) -> [u8; 16] {
    let mut nibbles = [0u8; 16];
    nibbles[0] = control;
    nibbles[1] = pin.len() as u8;
    for (slot, digit) in nibbles[2..].iter_mut().zip(pin.nibbles()) {
        *slot = digit;
    }
    for (i, slot) in nibbles.iter_mut().enumerate().skip(2 + pin.len()) {
        *slot = fill(i);
    }
    nibbles
}

fn clear_field_8(control: u8, pin: &Pin, fill: impl FnMut(usize) -> u8) -> Zeroizing<[u8; 8]> {
    let nibbles = Zeroizing::new(pin_nibbles(control, pin, fill));
    let mut out = Zeroizing::new([0u8; 8]);
    pack(nibbles.as_ref(), out.as_mut());
    out
}

fn parse_clear_field_8(field: &[u8; 8], control: u8, fill_ok: impl Fn(u8) -> bool) -> Result<Pin, FormatError> {
    let mut nibbles = Zeroizing::new([0u8; 16]);
    for (i, b) in field.iter().enumerate() {
        nibbles[2 * i] = b >> 4;
        nibbles[2 * i + 1] = b & 0xF;
    }
    let len = usize::from(nibbles[1]);
    if nibbles[0] != control || !(Pin::MIN_LEN..=Pin::MAX_LEN).contains(&len) {
        return Err(FormatError::PinBlock);
    }
    if !nibbles[2 + len..].iter().all(|&n| fill_ok(n)) {
        return Err(FormatError::PinBlock);
    }
    Pin::from_nibbles(&nibbles[2..2 + len])
}

fn pack(nibbles: &[u8], out: &mut [u8]) {
    for (byte, pair) in out.iter_mut().zip(nibbles.chunks(2)) {
        *byte = pair[0] << 4 | pair[1];
    }
}

fn xor8(a: &[u8; 8], b: &[u8; 8]) -> [u8; 8] {
    core::array::from_fn(|i| a[i] ^ b[i])
}

/// `0000` + the 12 rightmost PAN digits excluding the check digit, zero-padded on the left when the
/// PAN is shorter (formats 0 and 3).
fn pan_field_8(pan: &Pan) -> [u8; 8] {
    let digits = pan.as_bytes();
    let body = &digits[..digits.len() - 1];
    // Right-justified: a 12-digit PAN leaves 11 digits, and the field is zero-padded on the left.
    let used = &body[body.len().saturating_sub(12)..];
    let mut nibbles = [0u8; 16];
    for (slot, d) in nibbles[16 - used.len()..].iter_mut().zip(used) {
        *slot = d - b'0';
    }
    let mut out = [0u8; 8];
    pack(&nibbles, &mut out);
    out
}

/// `M` (PAN length − 12) + the PAN + `0` fill to 32 nibbles (format 4).
fn pan_field_16(pan: &Pan) -> [u8; 16] {
    let digits = pan.as_bytes();
    let mut nibbles = [0u8; 32];
    nibbles[0] = (digits.len() - 12) as u8;
    for (slot, d) in nibbles[1..].iter_mut().zip(digits) {
        *slot = d - b'0';
    }
    let mut out = [0u8; 16];
    pack(&nibbles, &mut out);
    out
}

/// A uniformly random nibble in `base..base + count` (rejection sampling, no modulo bias).
fn random_nibble(rng: &mut impl CryptoRngCore, base: u8, count: u8) -> u8 {
    let limit = 256 - (256 % u16::from(count));
    loop {
        let mut byte = [0u8; 1];
        rng.fill_bytes(&mut byte);
        if u16::from(byte[0]) < limit {
            return base + byte[0] % count;
        }
    }
}

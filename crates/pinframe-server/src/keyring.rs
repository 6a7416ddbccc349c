//! Keys in rotation. Between `pinframe keys rotate` and `pinframe keys retire` a server holds two
//! keys of each kind, the current one and the previous one, as a [`Ring`]. What the server makes
//! (a sealed PAN or PIN block, a signed access token, the key it hands to widgets) uses the key
//! active at the time: the previous one until the rotation's activation time, the current one from
//! then on, so that replicas given the new files a little apart never make what another cannot yet
//! read. What it reads (a sealed value, a token, a JWE) may come from either key until the
//! previous one is retired.
//!
//! [`Live`] is what a running server holds its rings in: replaced whole when it reloads its key
//! files on SIGHUP, read by every request without waiting on the reload.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use pinframe_core::PublicJwk;
use zeroize::Zeroizing;

use crate::keys::{SealError, Sealer};
use crate::keystore::{DecryptError, EcKey};

/// A current key and, during a rotation, the previous one.
pub struct Ring<T> {
    current: T,
    previous: Option<T>,
    /// From this Unix time on, new values use `current`; before it, `previous`.
    active_from: i64,
}

impl<T> fmt::Debug for Ring<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring")
            .field("previous", &self.previous.is_some())
            .field("active_from", &self.active_from)
            .finish_non_exhaustive()
    }
}

impl<T> Ring<T> {
    /// One key, no rotation under way.
    pub fn single(current: T) -> Self {
        Self { current, previous: None, active_from: i64::MIN }
    }

    /// `current` and, if a rotation left one, `previous`; `current` is used for new values from
    /// `active_from` on.
    pub fn new(current: T, previous: Option<T>, active_from: i64) -> Self {
        Self { current, previous, active_from }
    }

    pub fn current(&self) -> &T {
        &self.current
    }

    pub fn previous(&self) -> Option<&T> {
        self.previous.as_ref()
    }

    /// When `current` starts being used for new values.
    pub fn active_from(&self) -> i64 {
        self.active_from
    }

    /// The key new values use at `now`.
    pub fn active(&self, now: i64) -> &T {
        match &self.previous {
            Some(previous) if now < self.active_from => previous,
            _ => &self.current,
        }
    }

    /// Every key, the one active at `now` first.
    pub fn by_preference(&self, now: i64) -> impl Iterator<Item = &T> {
        match &self.previous {
            Some(previous) if now < self.active_from => [Some(previous), Some(&self.current)],
            previous => [Some(&self.current), previous.as_ref()],
        }
        .into_iter()
        .flatten()
    }

    /// [`try_map`](Self::try_map) taking the keys by value.
    pub fn try_into_map<U, E>(self, mut f: impl FnMut(T) -> Result<U, E>) -> Result<Ring<U>, E> {
        Ok(Ring {
            current: f(self.current)?,
            previous: self.previous.map(f).transpose()?,
            active_from: self.active_from,
        })
    }

    /// The current key, then the previous one.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        std::iter::once(&self.current).chain(self.previous.as_ref())
    }

    /// The same ring of something made from each key.
    pub fn map<U>(&self, mut f: impl FnMut(&T) -> U) -> Ring<U> {
        Ring { current: f(&self.current), previous: self.previous.as_ref().map(f), active_from: self.active_from }
    }

    /// [`map`](Self::map) with a step that may fail.
    pub fn try_map<U, E>(&self, mut f: impl FnMut(&T) -> Result<U, E>) -> Result<Ring<U>, E> {
        Ok(Ring {
            current: f(&self.current)?,
            previous: self.previous.as_ref().map(f).transpose()?,
            active_from: self.active_from,
        })
    }
}

impl Ring<EcKey> {
    /// Decrypts a JWE to any key of the ring. `jwe::decrypt` refuses a key whose `kid` the header
    /// does not name before any key agreement, so a JWE with a `kid` costs one ECDH, with the key
    /// it names; one without is tried with the current key, then the previous one. Failure is the
    /// one opaque error either way.
    pub fn decrypt(&self, compact: &str) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
        let mut outcome = Err(DecryptError::Refused);
        for key in self.iter() {
            match key.decrypt(compact) {
                Ok(plaintext) => return Ok(plaintext),
                // A key store that failed outweighs a key the JWE is not for.
                Err(DecryptError::KeyStore) => outcome = Err(DecryptError::KeyStore),
                Err(DecryptError::Refused) => {}
            }
        }
        outcome
    }

    /// The public halves, as a ring.
    pub fn public(&self) -> Ring<PublicJwk> {
        self.map(|key| key.public().clone())
    }

    /// The `kid`s, current first: what a log may say about the keys.
    pub fn kids(&self) -> Vec<String> {
        self.iter().map(|key| key.kid().to_owned()).collect()
    }
}

/// Which key of a ring opened a sealed value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opened {
    Current,
    Previous,
}

impl Ring<Sealer> {
    /// Seals under the key active at `now`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8], now: i64) -> Result<Vec<u8>, SealError> {
        self.active(now).seal(aad, plaintext)
    }

    /// Opens a value sealed under either key. A sealed value does not name its key: AES-GCM
    /// authenticates, so the wrong key fails, and the other is tried. Values sealed before key
    /// rotation existed open unchanged.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        self.open_which(aad, sealed).map(|(plaintext, _)| plaintext)
    }

    /// [`open`](Self::open), saying which key opened it.
    pub fn open_which(&self, aad: &[u8], sealed: &[u8]) -> Result<(Zeroizing<Vec<u8>>, Opened), SealError> {
        if let Ok(plaintext) = self.current.open(aad, sealed) {
            return Ok((plaintext, Opened::Current));
        }
        let previous = self.previous.as_ref().ok_or(SealError)?;
        previous.open(aad, sealed).map(|plaintext| (plaintext, Opened::Previous))
    }

    /// For `keys retire`: `None` when `sealed` already opens under the current key, else the value
    /// sealed again under the current key. Fails when neither key opens it.
    pub fn reseal(&self, aad: &[u8], sealed: &[u8]) -> Result<Option<Vec<u8>>, SealError> {
        match self.open_which(aad, sealed)? {
            (_, Opened::Current) => Ok(None),
            (plaintext, Opened::Previous) => self.current.seal(aad, &plaintext).map(Some),
        }
    }
}

/// What a running server holds a key set in: readers take the set as it is when they ask
/// ([`get`](Self::get)); a reload [`replace`](Self::replace)s it whole, so no request ever sees half
/// of an old set and half of a new one.
pub struct Live<T>(RwLock<Arc<T>>);

impl<T> fmt::Debug for Live<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Live").finish_non_exhaustive()
    }
}

impl<T> Live<T> {
    pub fn new(value: T) -> Self {
        Self(RwLock::new(Arc::new(value)))
    }

    /// The set in use now. The lock is held only to clone the `Arc`, never across work, so a panic
    /// cannot leave it half-written and a poisoned lock is still sound to read.
    pub fn get(&self) -> Arc<T> {
        self.0.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub fn replace(&self, value: T) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(value);
    }
}

#[cfg(test)]
mod tests {
    use pinframe_core::rand_core::OsRng;
    use pinframe_core::{jwe, PrivateJwk};

    use super::*;

    #[test]
    fn the_active_key_changes_at_the_activation_time() {
        let ring = Ring::new("new", Some("old"), 100);
        assert_eq!((*ring.active(99), *ring.active(100)), ("old", "new"));
        assert_eq!(ring.by_preference(99).copied().collect::<Vec<_>>(), ["old", "new"]);
        assert_eq!(ring.by_preference(100).copied().collect::<Vec<_>>(), ["new", "old"]);
        let single = Ring::single("only");
        assert_eq!(single.by_preference(i64::MIN).copied().collect::<Vec<_>>(), ["only"]);
    }

    #[test]
    fn values_of_either_key_open_and_reseal_moves_them_to_the_current_key() {
        let (old, new) = (Sealer::new(&[1; 32]), Sealer::new(&[2; 32]));
        let before = old.seal(b"row", b"5555555551234567").unwrap();
        let ring = Ring::new(new, Some(old), 100);
        assert_eq!(ring.open(b"row", &before).unwrap().as_slice(), b"5555555551234567");
        assert_eq!(ring.open_which(b"row", &before).unwrap().1, Opened::Previous);
        // Before the activation time the previous key still seals.
        assert_eq!(ring.open_which(b"row", &ring.seal(b"row", b"x", 99).unwrap()).unwrap().1, Opened::Previous);
        let after = ring.reseal(b"row", &before).unwrap().unwrap();
        assert_eq!(
            ring.open_which(b"row", &after).unwrap(),
            (Zeroizing::new(b"5555555551234567".to_vec()), Opened::Current)
        );
        assert_eq!(ring.reseal(b"row", &after).unwrap(), None);
        assert_eq!(ring.reseal(b"another row", &after), Err(SealError));
        assert_eq!(Ring::single(Sealer::new(&[2; 32])).open(b"row", &before), Err(SealError));
    }

    #[test]
    fn jwes_to_either_key_decrypt_and_to_no_key_of_the_ring_fail() {
        let (old, new) = (PrivateJwk::generate(&mut OsRng), PrivateJwk::generate(&mut OsRng));
        let to_old = jwe::encrypt(old.public(), b"{\"pin\":\"2468\"}", &mut OsRng);
        let stranger = PrivateJwk::generate(&mut OsRng);
        let to_stranger = jwe::encrypt(stranger.public(), b"x", &mut OsRng);
        let ring = Ring::new(EcKey::from(new), Some(EcKey::from(old)), 0);
        assert_eq!(ring.decrypt(&to_old).unwrap().as_slice(), b"{\"pin\":\"2468\"}");
        assert!(ring.decrypt(&to_stranger).is_err());
        let kids = ring.kids();
        assert_eq!(kids.len(), 2);
        assert_ne!(kids[0], kids[1]);
    }
}

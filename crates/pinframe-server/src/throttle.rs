//! Rate limits: failed client authentications, and PIN-control tokens per issuer.
//!
//! A client secret is checked with Argon2 (tens of milliseconds and 19 MiB each), so a flood of
//! wrong secrets is refused *before* that check:
//!
//! - per (client id, source address): `--auth-failure-limit` failures a minute, then a lockout of
//!   a minute that doubles with each further lockout (up to an hour);
//! - per source address, whatever the client id: three times that;
//! - per client id, from anywhere: when it fails more than the limit in a minute, the client id is
//!   *under attack* for a minute; addresses it has authenticated from in the last day keep being
//!   checked as usual, and every other address shares one check every two seconds. An attacker failing with
//!   a real client's id from elsewhere thus locks out only themselves: the client's own addresses
//!   are never throttled by others' failures, and a new address of the client still gets through
//!   within seconds.
//!
//! The counters live in each replica's memory (GCRA cells from `governor`). Behind a load balancer
//! with N replicas an attacker gets at most N times the budget of one; the limits are per-minute
//! budgets of a few failures, so N times that is still far from a useful guessing rate against
//! 256-bit secrets, and no database write happens per failed attempt.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Args;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::AppError;

/// How many address/client-id entries a table may hold before it is cleared: bounds the memory an
/// attacker with many addresses can make us spend.
const MAX_ENTRIES: usize = 100_000;
/// The first lockout of a (client id, address) pair; each further one doubles, up to [`MAX_LOCKOUT`].
const FIRST_LOCKOUT: Duration = Duration::from_secs(60);
const MAX_LOCKOUT: Duration = Duration::from_secs(3600);
/// How long a client id stays under attack after its last failure over the limit.
const UNDER_ATTACK: Duration = Duration::from_secs(60);
/// How long a successful authentication makes an address known for its client id.
const KNOWN_FOR: Duration = Duration::from_secs(86_400);
/// Addresses remembered per client id.
const KNOWN_PER_CLIENT: usize = 32;
/// How long a repeated refusal is held back, and how many at once.
const TARPIT: Duration = Duration::from_secs(1);
const TARPIT_SLOTS: usize = 32;
/// How often an unknown address may have its secret checked while its client id is under attack.
const TRICKLE: Duration = Duration::from_secs(2);

/// The rate-limit options of both servers.
#[derive(Debug, Clone, Args)]
pub struct ThrottleArgs {
    /// Failed client authentications allowed per minute from one address for one client id
    /// (three times that for one address over all client ids) before 429s and a lockout; 0 turns
    /// the limit off.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub auth_failure_limit: u32,
    /// PIN-control tokens one issuer may get per second (bursts of twice that); 0 turns the limit off.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub token_rate_limit: u32,
}

impl Default for ThrottleArgs {
    fn default() -> Self {
        Self { auth_failure_limit: 10, token_rate_limit: 50 }
    }
}

/// A pair's lockouts: until when, and how many in a row.
#[derive(Debug, Clone, Copy)]
struct Lockout {
    until: Instant,
    strikes: u32,
}

#[derive(Debug, Default)]
struct Tables {
    /// Locked (client id, address) pairs.
    pairs: HashMap<(String, IpAddr), Lockout>,
    /// Addresses refused until the given time, over all client ids.
    sources: HashMap<IpAddr, Instant>,
    /// Client ids under attack, until the given time.
    attacked: HashMap<String, Instant>,
    /// Addresses each client id authenticated from, and when last.
    known: HashMap<String, Vec<(IpAddr, Instant)>>,
    /// When each address was last answered 429.
    refused: HashMap<IpAddr, Instant>,
}

/// The failed-authentication limits of one server.
#[derive(Debug)]
pub struct AuthThrottle {
    limits: Option<Limiters>,
    tables: Mutex<Tables>,
    /// Refusals being held back: bounded, so that held requests cannot fill the connection cap.
    tarpit: tokio::sync::Semaphore,
}

#[derive(Debug)]
struct Limiters {
    pair: DefaultKeyedRateLimiter<(String, IpAddr)>,
    source: DefaultKeyedRateLimiter<IpAddr>,
    client: DefaultKeyedRateLimiter<String>,
    /// The one check every [`TRICKLE`] that unknown addresses share while their client id is under attack.
    trickle: DefaultKeyedRateLimiter<String>,
}

fn per_minute(n: u32) -> Quota {
    let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(n).allow_burst(n)
}

fn seconds_until(until: Instant, now: Instant) -> u64 {
    until.saturating_duration_since(now).as_secs_f64().ceil().max(1.0) as u64
}

impl AuthThrottle {
    pub fn new(failures_per_minute: u32) -> Self {
        let limits = (failures_per_minute > 0).then(|| Limiters {
            pair: RateLimiter::keyed(per_minute(failures_per_minute)),
            source: RateLimiter::keyed(per_minute(failures_per_minute.saturating_mul(3))),
            client: RateLimiter::keyed(per_minute(failures_per_minute)),
            trickle: RateLimiter::keyed(
                Quota::with_period(TRICKLE).unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN)),
            ),
        });
        Self { limits, tables: Mutex::new(Tables::default()), tarpit: tokio::sync::Semaphore::new(TARPIT_SLOTS) }
    }

    /// [`admit`](Self::admit), but an address refused again within a minute gets its 429 after
    /// [`TARPIT`]: a client that retries at once, as a flood does, then costs a timer instead of
    /// a core. At most [`TARPIT_SLOTS`] refusals wait at once; others are answered at once.
    pub async fn admit_slowly(&self, client_id: &str, source: IpAddr) -> Result<(), AppError> {
        let Err(refusal) = self.admit(client_id, source) else { return Ok(()) };
        let now = Instant::now();
        let again = match self.tables.lock() {
            Ok(mut tables) => {
                if tables.refused.len() > MAX_ENTRIES {
                    tables.refused.clear();
                }
                tables.refused.insert(source, now).is_some_and(|last| now - last < Duration::from_secs(60))
            }
            Err(_) => false,
        };
        if again {
            if let Ok(_slot) = self.tarpit.try_acquire() {
                tokio::time::sleep(TARPIT).await;
            }
        }
        Err(refusal)
    }

    /// Whether a secret from `source` for `client_id` may be checked now; otherwise the 429 to
    /// answer, without checking it.
    pub fn admit(&self, client_id: &str, source: IpAddr) -> Result<(), AppError> {
        let Some(limits) = &self.limits else { return Ok(()) };
        let now = Instant::now();
        let refusal = {
            let Ok(tables) = self.tables.lock() else { return Ok(()) };
            let pair = tables.pairs.get(&(client_id.to_owned(), source)).map(|l| l.until).filter(|u| *u > now);
            let address = tables.sources.get(&source).copied().filter(|u| *u > now);
            match pair.into_iter().chain(address).max() {
                Some(until) => Some(seconds_until(until, now)),
                None => {
                    let attacked = tables.attacked.get(client_id).is_some_and(|u| *u > now);
                    let known = tables
                        .known
                        .get(client_id)
                        .is_some_and(|known| known.iter().any(|(a, at)| *a == source && now - *at < KNOWN_FOR));
                    (attacked && !known && limits.trickle.check_key(&client_id.to_owned()).is_err()).then_some(1)
                }
            }
        };
        match refusal {
            Some(retry_after) => {
                metrics::counter!("pinframe_rate_limited_total", "limit" => "auth").increment(1);
                Err(AppError::TooManyRequests { retry_after })
            }
            None => Ok(()),
        }
    }

    /// Whether `client_id` authenticated from `source` in the last day: its secret checks go first.
    pub fn is_known(&self, client_id: &str, source: IpAddr) -> bool {
        let now = Instant::now();
        self.tables.lock().is_ok_and(|tables| {
            tables
                .known
                .get(client_id)
                .is_some_and(|known| known.iter().any(|(a, at)| *a == source && now - *at < KNOWN_FOR))
        })
    }

    /// Counts a failed authentication.
    pub fn failed(&self, client_id: &str, source: IpAddr) {
        let Some(limits) = &self.limits else { return };
        let now = Instant::now();
        let pair_key = (client_id.to_owned(), source);
        let pair_over = limits.pair.check_key(&pair_key).is_err();
        let source_wait =
            limits.source.check_key(&source).err().map(|n| n.wait_time_from(DefaultClock::default().now()));
        let client_over = limits.client.check_key(&client_id.to_owned()).is_err();
        let Ok(mut tables) = self.tables.lock() else { return };
        if tables.pairs.len() > MAX_ENTRIES || tables.sources.len() > MAX_ENTRIES || tables.attacked.len() > MAX_ENTRIES
        {
            tracing::warn!(target: "pinframe::throttle", "rate-limit tables full: cleared");
            *tables = Tables { known: std::mem::take(&mut tables.known), ..Tables::default() };
        }
        if pair_over {
            let strikes = tables.pairs.get(&pair_key).map_or(0, |l| l.strikes);
            let lockout = FIRST_LOCKOUT.saturating_mul(1 << strikes.min(6)).min(MAX_LOCKOUT);
            tables.pairs.insert(pair_key, Lockout { until: now + lockout, strikes: strikes + 1 });
            tracing::warn!(target: "pinframe::throttle", client_id, %source, seconds = lockout.as_secs(), "client locked out after failed authentications");
        }
        if let Some(wait) = source_wait {
            tables.sources.insert(source, now + wait.max(Duration::from_secs(1)));
        }
        if client_over {
            if tables.attacked.get(client_id).is_none_or(|u| *u <= now) {
                tracing::warn!(target: "pinframe::throttle", client_id, "failed authentications over the limit: unknown addresses throttled");
            }
            tables.attacked.insert(client_id.to_owned(), now + UNDER_ATTACK);
        }
    }

    /// Counts a successful authentication: `source` becomes known for `client_id`, and its lockout
    /// history is forgotten.
    pub fn succeeded(&self, client_id: &str, source: IpAddr) {
        if self.limits.is_none() {
            return;
        }
        let now = Instant::now();
        let Ok(mut tables) = self.tables.lock() else { return };
        tables.pairs.remove(&(client_id.to_owned(), source));
        if tables.known.len() > MAX_ENTRIES {
            tables.known.clear();
        }
        let known = tables.known.entry(client_id.to_owned()).or_default();
        known.retain(|(address, at)| *address != source && now - *at < KNOWN_FOR);
        if known.len() >= KNOWN_PER_CLIENT {
            known.remove(0);
        }
        known.push((source, now));
    }

    /// Forgets what has expired; run every minute or so.
    pub fn purge(&self) {
        let Some(limits) = &self.limits else { return };
        for limiter in [&limits.client, &limits.trickle] {
            limiter.retain_recent();
        }
        limits.pair.retain_recent();
        limits.source.retain_recent();
        let now = Instant::now();
        if let Ok(mut tables) = self.tables.lock() {
            // A pair's strikes are kept for an hour after its lockout ends, so that lockouts grow.
            tables.pairs.retain(|_, l| l.until + MAX_LOCKOUT > now);
            tables.sources.retain(|_, until| *until > now);
            tables.attacked.retain(|_, until| *until > now);
            tables.refused.retain(|_, at| now - *at < Duration::from_secs(60));
            tables.known.retain(|_, known| {
                known.retain(|(_, at)| now - *at < KNOWN_FOR);
                !known.is_empty()
            });
        }
    }
}

/// PIN-control tokens per issuer.
#[derive(Debug)]
pub struct TokenThrottle(Option<DefaultKeyedRateLimiter<String>>);

impl TokenThrottle {
    pub fn new(per_second: u32) -> Self {
        Self(NonZeroU32::new(per_second).map(|n| {
            RateLimiter::keyed(Quota::per_second(n).allow_burst(n.saturating_mul(NonZeroU32::new(2).unwrap_or(n))))
        }))
    }

    /// Takes one token of `issuer`'s budget, or the 429 to answer.
    pub fn take(&self, issuer: &str) -> Result<(), AppError> {
        let Some(limiter) = &self.0 else { return Ok(()) };
        limiter.check_key(&issuer.to_owned()).map_err(|not_until| {
            metrics::counter!("pinframe_rate_limited_total", "limit" => "tokens").increment(1);
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            AppError::TooManyRequests { retry_after: wait.as_secs_f64().ceil().max(1.0) as u64 }
        })
    }

    pub fn purge(&self) {
        if let Some(limiter) = &self.0 {
            limiter.retain_recent();
        }
    }
}

/// Both limits of a server, built from its options.
#[derive(Debug)]
pub struct Throttle {
    pub auth: AuthThrottle,
    pub tokens: TokenThrottle,
}

impl Throttle {
    pub fn new(args: &ThrottleArgs) -> Self {
        Self { auth: AuthThrottle::new(args.auth_failure_limit), tokens: TokenThrottle::new(args.token_rate_limit) }
    }

    /// Purges both every minute, for as long as the process runs.
    pub fn purge_every_minute(self: &std::sync::Arc<Self>) {
        let throttle = std::sync::Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let Some(throttle) = throttle.upgrade() else { return };
                throttle.auth.purge();
                throttle.tokens.purge();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_pair_is_locked_out_after_its_failures() {
        let throttle = AuthThrottle::new(3);
        let attacker = ip("192.0.2.1");
        for _ in 0..4 {
            assert!(throttle.admit("client", attacker).is_ok());
            throttle.failed("client", attacker);
        }
        let Err(AppError::TooManyRequests { retry_after }) = throttle.admit("client", attacker) else {
            panic!("the fourth failure locks the pair out")
        };
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        // The same address for another client id is not locked (until the per-address limit).
        assert!(throttle.admit("other", attacker).is_ok());
    }

    #[test]
    fn failures_from_elsewhere_do_not_lock_out_a_known_address() {
        let throttle = AuthThrottle::new(3);
        let home = ip("192.0.2.10");
        throttle.succeeded("client", home);
        for n in 2..=17 {
            let attacker = ip(&format!("198.51.100.{n}"));
            for _ in 0..3 {
                if throttle.admit("client", attacker).is_ok() {
                    throttle.failed("client", attacker);
                }
            }
        }
        // The client id is under attack: its known address is still checked, new ones share one
        // check every two seconds.
        for _ in 0..10 {
            assert!(throttle.admit("client", home).is_ok());
        }
        let newcomer = ip("203.0.113.5");
        let admitted = (0..10).filter(|_| throttle.admit("client", newcomer).is_ok()).count();
        assert!(admitted <= 1, "{admitted}");
    }

    #[test]
    fn a_success_clears_the_pair_and_zero_turns_limits_off() {
        let throttle = AuthThrottle::new(2);
        let source = ip("192.0.2.1");
        for _ in 0..3 {
            throttle.failed("client", source);
        }
        assert!(throttle.admit("client", source).is_err());
        throttle.succeeded("client", source);
        assert!(throttle.admit("client", source).is_ok());

        let off = AuthThrottle::new(0);
        for _ in 0..100 {
            off.failed("client", source);
        }
        assert!(off.admit("client", source).is_ok());
        let tokens = TokenThrottle::new(0);
        assert!((0..1000).all(|_| tokens.take("issuer").is_ok()));
    }

    #[test]
    fn tokens_are_limited_per_issuer() {
        let tokens = TokenThrottle::new(5);
        let granted = (0..100).filter(|_| tokens.take("issuer-a").is_ok()).count();
        assert_eq!(granted, 10, "a burst of twice the rate");
        assert!(tokens.take("issuer-b").is_ok());
    }
}

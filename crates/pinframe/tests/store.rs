//! The storage rules, on every backend the run has (SQLite always; PostgreSQL when
//! `PINFRAME_TEST_DATABASE_URL` names a cluster, as `make test` does): one suite, each test run
//! once per backend. Whatever claims or counts is exercised with many concurrent callers, each on
//! its own store handle where the backend allows it (as replicas sharing one database would be).

mod common;

use std::sync::Arc;

use common::{backends, db_config, Backend};
use pinframe::store::{SqlStore, Store, TokenRecord};
use pinframe::token::new_token;
use pinframe_cms::{CmsKeys, EmbeddedCms, EncryptedPinBlock, PinManagement};
use pinframe_core::rand_core::OsRng;
use pinframe_core::{jwe, CardId, ConsumerId, CorrelationId, IssuerId, PinPolicy, PrivateJwk};
use pinframe_protocol::d1::PinBlockType;
use pinframe_protocol::{Action, Origin};
use pinframe_server::db::DbConfig;

const NOW: i64 = 1_800_000_000;

/// A database of `backend` and a directory for its SQLite files, and as many store handles on it as
/// asked: on PostgreSQL each its own pool (as separate replicas have), all opened at once (their
/// migrations race, as replicas starting together do).
struct Shared {
    config: DbConfig,
    dir: tempfile::TempDir,
    stores: Vec<Arc<SqlStore>>,
}

async fn shared(backend: &Backend, handles: usize) -> Shared {
    let dir = tempfile::tempdir().unwrap();
    let config = db_config(backend).await;
    // SQLite's one writer per file is per process: its handles share one store.
    let count = if config.is_postgres() { handles } else { 1 };
    let opening: Vec<_> = (0..count)
        .map(|_| {
            let (config, path) = (config.clone(), dir.path().to_owned());
            tokio::spawn(async move { SqlStore::open(&config, &path).await.unwrap() })
        })
        .collect();
    let mut stores = Vec::new();
    for task in opening {
        stores.push(Arc::new(task.await.unwrap()));
    }
    Shared { config, dir, stores }
}

impl Shared {
    fn store(&self, i: usize) -> Arc<SqlStore> {
        self.stores[i % self.stores.len()].clone()
    }
}

fn token(expires_at: i64) -> TokenRecord {
    TokenRecord {
        hash: new_token().hash,
        issuer: IssuerId::parse("ISSUER0001").unwrap(),
        card: CardId::parse("card-1").unwrap(),
        action: Action::ViewPin,
        parent_origin: Some(Origin::parse("https://bank.example").unwrap()),
        language: Some("fi".to_owned()),
        hide_after_seconds: Some(30),
        allow_copy: true,
        created_at: NOW,
        expires_at,
        used: false,
        attempts: 0,
    }
}

#[tokio::test]
async fn a_token_is_claimed_by_exactly_one_of_many_concurrent_claims() {
    for backend in backends() {
        let db = shared(&backend, 4).await;
        for round in 0..10 {
            let record = token(NOW + 300);
            db.store(0).insert_token(&record).await.unwrap();
            let claims: Vec<_> = (0..32)
                .map(|i| {
                    let store = db.store(i);
                    tokio::spawn(async move { store.consume_token(&record.hash, NOW).await.unwrap() })
                })
                .collect();
            let mut won = 0;
            for claim in claims {
                won += usize::from(claim.await.unwrap());
            }
            assert_eq!(won, 1, "{backend:?}, round {round}");
            assert!(db.store(1).token(&record.hash).await.unwrap().unwrap().used);
        }
    }
}

/// The view's claim: one statement that claims and reads the card's sealed PAN.
#[tokio::test]
async fn a_view_claim_lets_one_of_many_through_with_its_cards_pan_and_only_for_its_action() {
    for backend in backends() {
        let db = shared(&backend, 4).await;
        let issuer = IssuerId::parse("ISSUER0001").unwrap();
        let consumer = ConsumerId::parse("alice").unwrap();
        db.store(0).put_issuer(&issuer, "client-1", "$argon2id$hash", NOW).await.unwrap();
        db.store(0)
            .register_cards(&issuer, &consumer, &[(CardId::parse("card-1").unwrap(), vec![7u8; 40])], NOW)
            .await
            .unwrap();
        for round in 0..5 {
            let record = token(NOW + 300);
            db.store(0).insert_token(&record).await.unwrap();
            let claims: Vec<_> = (0..32)
                .map(|i| {
                    let store = db.store(i);
                    tokio::spawn(async move { store.claim_token(&record.hash, Action::ViewPin, NOW).await.unwrap() })
                })
                .collect();
            let mut won = Vec::new();
            for claim in claims {
                won.extend(claim.await.unwrap());
            }
            assert_eq!(won.len(), 1, "{backend:?}, round {round}");
            let claimed = won.pop().unwrap();
            assert_eq!((claimed.issuer.as_str(), claimed.card.as_str()), ("ISSUER0001", "card-1"));
            assert_eq!(claimed.pan_sealed.as_deref(), Some(&[7u8; 40][..]), "{backend:?}");
            assert!(db.store(1).token(&record.hash).await.unwrap().unwrap().used);
            // Given back, it is claimed once more.
            db.store(2).release_token(&record.hash).await.unwrap();
            assert!(db.store(3).claim_token(&record.hash, Action::ViewPin, NOW).await.unwrap().is_some());
        }
        // Another action's token, an expired one: not claimed, not used up.
        let set = TokenRecord { action: Action::SetPin, ..token(NOW + 300) };
        let expired = token(NOW);
        for record in [&set, &expired] {
            db.store(0).insert_token(record).await.unwrap();
            assert!(db.store(1).claim_token(&record.hash, Action::ViewPin, NOW).await.unwrap().is_none());
            assert!(!db.store(1).token(&record.hash).await.unwrap().unwrap().used);
        }
        // A card no longer registered: claimed, with no PAN.
        let gone = TokenRecord { card: CardId::parse("card-2").unwrap(), ..token(NOW + 300) };
        db.store(0).insert_token(&gone).await.unwrap();
        let claimed = db.store(1).claim_token(&gone.hash, Action::ViewPin, NOW).await.unwrap().unwrap();
        assert_eq!((claimed.card.as_str(), claimed.pan_sealed), ("card-2", None), "{backend:?}");
    }
}

#[tokio::test]
async fn of_many_concurrent_refusals_exactly_the_limit_is_counted() {
    for backend in backends() {
        let db = shared(&backend, 4).await;
        for round in 0..5 {
            let record = token(NOW + 300);
            db.store(0).insert_token(&record).await.unwrap();
            let refusals: Vec<_> = (0..32)
                .map(|i| {
                    let store = db.store(i);
                    tokio::spawn(async move { store.refuse_attempt(&record.hash, 3, NOW).await.unwrap() })
                })
                .collect();
            let mut counted = Vec::new();
            for refusal in refusals {
                counted.extend(refusal.await.unwrap());
            }
            counted.sort_unstable();
            assert_eq!(counted, [1, 2, 3], "{backend:?}, round {round}");
            let stored = db.store(1).token(&record.hash).await.unwrap().unwrap();
            assert!(stored.used && stored.attempts == 3, "{backend:?}: {stored:?}");
            assert!(!db.store(2).consume_token(&record.hash, NOW).await.unwrap());
        }
    }
}

#[tokio::test]
async fn refusals_below_the_limit_keep_the_token_and_a_release_gives_it_back() {
    for backend in backends() {
        let db = shared(&backend, 2).await;
        let record = token(NOW + 300);
        db.store(0).insert_token(&record).await.unwrap();
        assert_eq!(db.store(0).refuse_attempt(&record.hash, 3, NOW).await.unwrap(), Some(1));
        assert_eq!(db.store(1).refuse_attempt(&record.hash, 3, NOW).await.unwrap(), Some(2));
        assert!(db.store(0).consume_token(&record.hash, NOW).await.unwrap());
        // A used token is neither claimed again nor counted.
        assert!(!db.store(1).consume_token(&record.hash, NOW).await.unwrap());
        assert_eq!(db.store(1).refuse_attempt(&record.hash, 3, NOW).await.unwrap(), None);
        db.store(1).release_token(&record.hash).await.unwrap();
        assert!(db.store(0).consume_token(&record.hash, NOW).await.unwrap());
    }
}

#[tokio::test]
async fn expired_tokens_are_neither_claimed_nor_counted_and_every_replica_may_purge() {
    for backend in backends() {
        let db = shared(&backend, 4).await;
        let expired: Vec<TokenRecord> = (0..20).map(|_| token(NOW - 1)).collect();
        for record in &expired {
            db.store(0).insert_token(record).await.unwrap();
        }
        let live = token(NOW + 300);
        db.store(0).insert_token(&live).await.unwrap();
        assert!(!db.store(1).consume_token(&expired[0].hash, NOW).await.unwrap());
        assert_eq!(db.store(1).refuse_attempt(&expired[0].hash, 3, NOW).await.unwrap(), None);

        let purges: Vec<_> = (0..4)
            .map(|i| {
                let store = db.store(i);
                tokio::spawn(async move { store.purge_tokens(NOW).await.unwrap() })
            })
            .collect();
        let mut purged = 0;
        for purge in purges {
            purged += purge.await.unwrap();
        }
        assert_eq!(purged, 20, "{backend:?}");
        assert!(db.store(2).token(&expired[5].hash).await.unwrap().is_none());
        let kept = db.store(3).token(&live.hash).await.unwrap().unwrap();
        assert_eq!(kept.parent_origin.as_ref().map(Origin::as_str), Some("https://bank.example"));
        assert_eq!((kept.language.as_deref(), kept.hide_after_seconds, kept.allow_copy), (Some("fi"), Some(30), true));
    }
}

#[tokio::test]
async fn issuers_cards_themes_and_fonts_are_shared() {
    for backend in backends() {
        let db = shared(&backend, 2).await;
        let (a, b) = (db.store(0), db.store(1));
        let issuer = IssuerId::parse("ISSUER0001").unwrap();
        a.put_issuer(&issuer, "client-1", "$argon2id$hash", NOW).await.unwrap();
        a.set_policy(&issuer, &PinPolicy::new(5, 8, true).unwrap()).await.unwrap();
        let origin = Origin::parse("https://bank.example").unwrap();
        a.add_origin(&issuer, &origin).await.unwrap();
        a.add_origin(&issuer, &origin).await.unwrap();
        let read = b.issuer_by_client_id("client-1").await.unwrap().unwrap();
        assert_eq!((read.id.as_str(), read.policy), ("ISSUER0001", PinPolicy::new(5, 8, true).unwrap()));
        assert_eq!(b.origins(&issuer).await.unwrap(), [origin]);

        let (alice, bob) = (ConsumerId::parse("alice").unwrap(), ConsumerId::parse("bob").unwrap());
        let cards =
            vec![(CardId::parse("card-1").unwrap(), vec![1u8; 40]), (CardId::parse("card-2").unwrap(), vec![2; 40])];
        a.register_cards(&issuer, &alice, &cards, NOW).await.unwrap();
        // A card registered again to another consumer moves to it, in the same transaction.
        b.register_cards(&issuer, &bob, &cards[1..], NOW).await.unwrap();
        let card2 = a.card(&issuer, &cards[1].0).await.unwrap().unwrap();
        assert_eq!((card2.consumer.as_str(), card2.pan_sealed.as_slice()), ("bob", &[2u8; 40][..]));
        assert_eq!(b.card(&issuer, &cards[0].0).await.unwrap().unwrap().consumer.as_str(), "alice");

        a.put_theme(&issuer, "v1", ".pin{color:red}", NOW).await.unwrap();
        let theme = b.theme(&issuer).await.unwrap().unwrap();
        assert_eq!((theme.version.as_str(), theme.css.as_str()), ("v1", ".pin{color:red}"));
        assert!(b.delete_theme(&issuer).await.unwrap());
        assert!(!a.delete_theme(&issuer).await.unwrap());
        a.put_font(&issuer, "brand.woff2", b"wOF2data", NOW).await.unwrap();
        assert_eq!(b.font(&issuer, "brand.woff2").await.unwrap().unwrap(), b"wOF2data");
        b.ping().await.unwrap();
    }
}

#[tokio::test]
async fn replicas_adding_the_same_issuer_at_once_make_one_issuer() {
    for backend in backends() {
        let db = shared(&backend, 4).await;
        for round in 0..5 {
            let issuer = IssuerId::parse(&format!("ISSUER000{round}")).unwrap();
            let client = format!("client-{round}");
            let adds: Vec<_> = (0..8)
                .map(|i| {
                    let (store, issuer, client) = (db.store(i), issuer.clone(), client.clone());
                    tokio::spawn(async move { store.put_issuer(&issuer, &client, "$argon2id$hash", NOW).await })
                })
                .collect();
            for add in adds {
                add.await.unwrap().unwrap_or_else(|e| panic!("{backend:?}: {e}"));
            }
            assert_eq!(db.store(1).issuer_by_client_id(&client).await.unwrap().unwrap().id, issuer);
        }
        // A client id that another issuer holds is still refused.
        let other = IssuerId::parse("ISSUER0009").unwrap();
        assert!(db.store(0).put_issuer(&other, "client-0", "$argon2id$hash", NOW).await.is_err());
    }
}

/// The embedded CMS on the same database: concurrent PIN writes each move the change counter by
/// one, in the same statement as the block, so the counter ends at exactly the number of writes.
#[tokio::test]
async fn concurrent_pin_writes_each_move_the_change_counter_once() {
    for backend in backends() {
        let db = shared(&backend, 1).await;
        let kek = [7u8; 32];
        let key = PrivateJwk::generate(&mut OsRng);
        let service = PrivateJwk::generate(&mut OsRng);
        let handles = if db.config.is_postgres() { 3 } else { 1 };
        let mut cms = Vec::new();
        for _ in 0..handles {
            let copy = PrivateJwk::parse(&key.to_json()).unwrap();
            let recipient = Some(service.public().clone());
            let keys = CmsKeys::single(&kek, copy, recipient);
            cms.push(Arc::new(EmbeddedCms::open(&db.config, db.dir.path(), keys).await.unwrap()));
        }
        let (issuer, card) = (IssuerId::parse("ISSUER0001").unwrap(), CardId::parse("card-1").unwrap());
        let writes: Vec<_> = (0..16)
            .map(|i| {
                let (cms, issuer, card) = (cms[i % cms.len()].clone(), issuer.clone(), card.clone());
                let plaintext = format!(r#"{{"format":"ISO0","pinBlock":"04{:02}56FFFFFFFFFF"}}"#, i % 100);
                let jwe = jwe::encrypt(key.public(), plaintext.as_bytes(), &mut OsRng);
                tokio::spawn(async move {
                    let block = EncryptedPinBlock { block_type: PinBlockType::Iso0, jwe };
                    cms.set_pin(&issuer, &card, &block, &CorrelationId::parse("t").unwrap()).await.unwrap();
                })
            })
            .collect();
        for write in writes {
            write.await.unwrap();
        }
        let correlation = CorrelationId::parse("t").unwrap();
        assert_eq!(cms[0].change_counter(&issuer, &card, &correlation).await.unwrap(), 16, "{backend:?}");
        cms[cms.len() - 1].get_pin(&issuer, &card, &correlation).await.unwrap();

        // A first PIN is written once, however many seed it at once, and never over a PIN.
        let first = CardId::parse("card-2").unwrap();
        let seeds: Vec<_> = (0..8)
            .map(|i| {
                let (cms, issuer, card) = (cms[i % cms.len()].clone(), issuer.clone(), first.clone());
                let jwe = jwe::encrypt(key.public(), br#"{"format":"ISO0","pinBlock":"041234FFFFFFFFFF"}"#, &mut OsRng);
                tokio::spawn(async move {
                    let block = EncryptedPinBlock { block_type: PinBlockType::Iso0, jwe };
                    cms.set_first_pin(&issuer, &card, &block, &CorrelationId::parse("t").unwrap()).await.unwrap()
                })
            })
            .collect();
        let mut written = 0;
        for seed in seeds {
            written += usize::from(seed.await.unwrap());
        }
        assert_eq!(written, 1, "{backend:?}");
        assert_eq!(cms[0].change_counter(&issuer, &first, &correlation).await.unwrap(), 1);
        let jwe = jwe::encrypt(key.public(), br#"{"format":"ISO0","pinBlock":"045678FFFFFFFFFF"}"#, &mut OsRng);
        let block = EncryptedPinBlock { block_type: PinBlockType::Iso0, jwe };
        assert!(!cms[0].set_first_pin(&issuer, &card, &block, &correlation).await.unwrap());
        assert_eq!(cms[0].change_counter(&issuer, &card, &correlation).await.unwrap(), 16);
    }
}

//! The token authority and the token endpoint's parsing, against their rules.
use super::*;

fn authority(key: &PrivateJwk) -> JwtAuthority {
    JwtAuthority::new(key, "https://pin.example".into(), "aud-test", "scope-test", 300).unwrap()
}

#[test]
fn tokens_verify_only_where_and_when_they_should() {
    let key = PrivateJwk::generate(&mut OsRng);
    let a = authority(&key);
    let issuer = IssuerId::parse("ISSUER0001").unwrap();
    let token = a.issue("client", &Grant::Issuers(vec![issuer.clone()]), 1_000).unwrap();
    let principal = a.verify(&token, 1_000).unwrap();
    assert_eq!(principal.client_id, "client");
    assert!(principal.grant.allows(&issuer));
    assert!(!principal.grant.allows(&IssuerId::parse("ISSUER0002").unwrap()));
    assert!(a.verify(&token, 1_299).is_some());
    assert!(a.verify(&token, 1_300).is_none(), "expired");
    assert!(a.verify(&token, 1_000 - SKEW - 1).is_none(), "issued in the future");

    let other = authority(&PrivateJwk::generate(&mut OsRng));
    assert!(other.verify(&token, 1_000).is_none(), "another key");
    let elsewhere = JwtAuthority::new(&key, "https://other.example".into(), "aud-test", "scope-test", 300).unwrap();
    assert!(elsewhere.verify(&token, 1_000).is_none(), "another iss");
    let for_cms = JwtAuthority::new(&key, "https://pin.example".into(), "aud-cms", "scope-test", 300).unwrap();
    assert!(for_cms.verify(&token, 1_000).is_none(), "another aud");

    let any = a.issue("cms-client", &Grant::AnyIssuer, 1_000).unwrap();
    assert_eq!(a.verify(&any, 1_000).unwrap().grant, Grant::AnyIssuer);
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

#[test]
fn during_a_rotation_tokens_of_either_key_verify_and_after_it_only_the_current_ones() {
    let (old, new) = (PrivateJwk::generate(&mut OsRng), PrivateJwk::generate(&mut OsRng));
    let a = authority(&old);
    let grant = Grant::AnyIssuer;
    let before = a.issue("client", &grant, 1_000).unwrap();
    a.replace_keys(Ring::new(copy(&new), Some(copy(&old)), 1_100)).unwrap();
    assert_eq!(a.kids(), [new.kid(), old.kid()]);
    assert_eq!(kid_of(&a.issue("client", &grant, 1_099).unwrap()), old.kid(), "not active yet");
    let after = a.issue("client", &grant, 1_100).unwrap();
    assert_eq!(kid_of(&after), new.kid());
    assert!(a.verify(&before, 1_100).is_some() && a.verify(&after, 1_100).is_some());

    // The header's kid chooses the key: a token signed by the old key that names the new one
    // is refused, though the old key would verify it.
    let claims: serde_json::Value =
        serde_json::from_slice(&Base64UrlUnpadded::decode_vec(before.split('.').nth(1).unwrap()).unwrap()).unwrap();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(new.kid().to_owned());
    let misnamed = Signer::new(copy(&old)).unwrap().sign(&header, &claims).unwrap();
    assert!(a.verify(&misnamed, 1_100).is_none());
    header.kid = None;
    let unnamed = Signer::new(copy(&old)).unwrap().sign(&header, &claims).unwrap();
    assert!(a.verify(&unnamed, 1_100).is_some(), "without a kid, each key is tried");

    a.replace_keys(Ring::single(copy(&new))).unwrap();
    assert!(a.verify(&before, 1_100).is_none(), "the retired key's tokens stop at once");
    assert!(a.verify(&after, 1_100).is_some());
}

fn copy(key: &PrivateJwk) -> EcKey {
    EcKey::from(PrivateJwk::parse(&key.to_json()).unwrap())
}

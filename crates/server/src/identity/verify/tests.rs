//! Hashes computed by Python's `hmac` (docs/security.md shows the same computation), and
//! tokens signed here with the same library a website would use.

use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;

use super::*;
use crate::config::{IdentityMode, Secret};

const SECRET: &str = "0123456789abcdef0123456789abcdef";
/// `hmac.new(SECRET, b"user-42", hashlib.sha256).hexdigest()`
const USER_42: &str = "d6f70521973278294ce7b05519c3131f25d1710102d6c7e2842e84faa1ca1b01";
/// The same for "jürgen@example.de" (UTF-8).
const JURGEN: &str = "b793e28c952f575dcb4ea381b19a823dd2fe82d0c07cfeba48a395c0912ec51e";

/// 2025-01-01T00:00:00Z.
const NOW_S: u64 = 1_735_689_600;

fn now() -> UnixMillis {
    UnixMillis(i64::try_from(NOW_S).unwrap() * 1000 + 999)
}

fn config() -> IdentityConfig {
    IdentityConfig {
        mode: IdentityMode::Required,
        secret: Some(Secret::new(SECRET)),
        accept_hash: true,
        token_max_age_s: 3600,
    }
}

fn hash(identifier: &str, hash: &str) -> Result<String, Failure> {
    let proof = Proof {
        identifier: Some(identifier),
        hash: Some(hash),
        token: None,
    };
    verify(&config(), proof, now())
}

fn token(claims: serde_json::Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("encode")
}

fn with_token(config: &IdentityConfig, token: &str) -> Result<String, Failure> {
    let proof = Proof {
        token: Some(token),
        ..Proof::default()
    };
    verify(config, proof, now())
}

#[test]
fn a_good_hash_verifies_in_either_case() {
    assert_eq!(hash("user-42", USER_42), Ok("user-42".to_owned()));
    assert_eq!(
        hash("user-42", &USER_42.to_uppercase()),
        Ok("user-42".to_owned())
    );
    assert_eq!(
        hash("jürgen@example.de", JURGEN),
        Ok("jürgen@example.de".to_owned())
    );
}

#[test]
fn a_wrong_hash_does_not() {
    assert_eq!(hash("user-43", USER_42), Err(Failure::BadHash));
    let mut flipped = USER_42.to_owned();
    flipped.replace_range(0..1, "e");
    assert_eq!(hash("user-42", &flipped), Err(Failure::BadHash));
    assert_eq!(hash("user-42", &USER_42[..62]), Err(Failure::BadHash));
    assert_eq!(hash("user-42", "not hex"), Err(Failure::BadHash));
    let other = Hmac::<Sha256>::new_from_slice(b"another secret, also 32 characters")
        .map(|mut m| {
            m.update(b"user-42");
            hex::encode(m.finalize().into_bytes())
        })
        .expect("mac");
    assert_eq!(hash("user-42", &other), Err(Failure::BadHash));
}

#[test]
fn identifiers_and_missing_parts_are_checked() {
    assert_eq!(
        verify(&config(), Proof::default(), now()),
        Err(Failure::Missing)
    );
    let blank = Proof {
        identifier: Some("user-42"),
        hash: Some("  "),
        token: Some(""),
    };
    assert_eq!(verify(&config(), blank, now()), Err(Failure::Missing));
    let no_id = Proof {
        hash: Some(USER_42),
        ..Proof::default()
    };
    assert_eq!(verify(&config(), no_id, now()), Err(Failure::NoIdentifier));
    for bad in ["", " user-42", "user-42\n", "a\u{7}b", &"x".repeat(257)] {
        assert_eq!(hash(bad, USER_42), Err(Failure::BadIdentifier), "{bad:?}");
    }
    let mut tokens_only = config();
    tokens_only.accept_hash = false;
    let proof = Proof {
        identifier: Some("user-42"),
        hash: Some(USER_42),
        token: None,
    };
    assert_eq!(
        verify(&tokens_only, proof, now()),
        Err(Failure::HashNotAccepted)
    );
}

#[test]
fn a_good_token_verifies_until_it_expires() {
    let good = token(json!({"sub": "user-42", "exp": NOW_S + 60}), SECRET);
    assert_eq!(with_token(&config(), &good), Ok("user-42".to_owned()));
    let at_exp = token(json!({"sub": "user-42", "exp": NOW_S}), SECRET);
    assert_eq!(with_token(&config(), &at_exp), Err(Failure::Expired));
    let not_yet = token(
        json!({"sub": "user-42", "exp": NOW_S + 60, "nbf": NOW_S + 30}),
        SECRET,
    );
    assert_eq!(with_token(&config(), &not_yet), Err(Failure::Expired));
    let too_long = token(json!({"sub": "user-42", "exp": NOW_S + 3601}), SECRET);
    assert_eq!(with_token(&config(), &too_long), Err(Failure::TooLong));
    let extra = token(
        json!({"sub": "user-42", "exp": NOW_S + 60, "aud": "x", "iat": NOW_S}),
        SECRET,
    );
    assert_eq!(with_token(&config(), &extra), Ok("user-42".to_owned()));
}

#[test]
fn a_bad_token_is_not_rescued_by_a_hash() {
    let forged = token(
        json!({"sub": "user-42", "exp": NOW_S + 60}),
        "another secret, also 32 characters",
    );
    assert_eq!(with_token(&config(), &forged), Err(Failure::BadToken));
    let proof = Proof {
        identifier: Some("user-42"),
        hash: Some(USER_42),
        token: Some(&forged),
    };
    assert_eq!(verify(&config(), proof, now()), Err(Failure::BadToken));
    for bad in [
        token(json!({"sub": "user-42"}), SECRET),
        token(json!({"exp": NOW_S + 60}), SECRET),
        token(json!({"sub": " ", "exp": NOW_S + 60}), SECRET),
        "a.b.c".to_owned(),
        "garbage".to_owned(),
    ] {
        assert!(with_token(&config(), &bad).is_err(), "{bad}");
    }
    // Another algorithm, and "none", are refused whatever the signature.
    let hs512 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &json!({"sub": "user-42", "exp": NOW_S + 60}),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("encode");
    assert_eq!(with_token(&config(), &hs512), Err(Failure::BadToken));
    let none = format!(
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
        hs512.split('.').nth(1).expect("payload")
    );
    assert_eq!(with_token(&config(), &none), Err(Failure::BadToken));
}

//! Checking what a website signed: the hash of an identifier, or an expiring token.
//! Pure: the time comes in as an argument, nothing is logged or counted here.
//!
//! - `IdentifierHash`: lowercase or uppercase hex of HMAC-SHA256(secret, identifier), the
//!   identifier's UTF-8 bytes exactly as sent in `Identifier` (chatwoot's
//!   `identifier_hash`). Compared in constant time (`Mac::verify_slice`).
//! - `IdentityToken`: a JWT signed with HS256 and the same secret, with `sub` (the
//!   identifier) and `exp` (seconds since the epoch); `nbf`, if any, is honoured, any
//!   other claim is ignored. Refused once expired, and when `exp` lies further ahead
//!   than `token-max-age`.
//!
//! A token, when one is sent, decides alone: a bad token is not rescued by a hash.

use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use parley_core::UnixMillis;
use serde::Deserialize;
use sha2::Sha256;

use crate::config::IdentityConfig;

/// Longest identifier, in bytes.
pub const MAX_IDENTIFIER_BYTES: usize = 256;

/// Longest hash or token accepted for checking, in bytes (a JWT with `sub` and `exp`
/// is about 150).
const MAX_PROOF_BYTES: usize = 4096;

/// Why a visitor is not verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Neither a hash nor a token was sent.
    Missing,
    /// The identifier is blank, too long, padded with whitespace or has control
    /// characters.
    BadIdentifier,
    /// A hash came without an `Identifier`.
    NoIdentifier,
    /// The hash is not the identifier's HMAC under the tenant's secret.
    BadHash,
    /// The tenant accepts tokens only (`accept-hash = false`).
    HashNotAccepted,
    /// The token is malformed, not HS256, or its signature does not verify.
    BadToken,
    /// The token's `exp` has passed (or its `nbf` has not come).
    Expired,
    /// The token's `exp` is further ahead than `token-max-age`.
    TooLong,
}

impl Failure {
    /// What the visitor's website is told (it names no secret and no value).
    pub fn message(self) -> &'static str {
        match self {
            Failure::Missing => {
                "identity not verified: send Identifier with IdentifierHash, or IdentityToken"
            }
            Failure::BadIdentifier => {
                "identity not verified: Identifier must be 1 to 256 bytes, without surrounding \
                 whitespace or control characters"
            }
            Failure::NoIdentifier => "identity not verified: IdentifierHash without Identifier",
            Failure::BadHash => "identity not verified: IdentifierHash does not match",
            Failure::HashNotAccepted => {
                "identity not verified: this tenant accepts IdentityToken only"
            }
            Failure::BadToken => "identity not verified: IdentityToken is not valid",
            Failure::Expired => "identity not verified: IdentityToken has expired",
            Failure::TooLong => {
                "identity not verified: IdentityToken expires later than token-max-age allows"
            }
        }
    }

    /// Whether something was presented and failed (as opposed to nothing sent).
    pub fn presented(self) -> bool {
        self != Failure::Missing
    }
}

/// What a request presented.
#[derive(Debug, Clone, Copy, Default)]
pub struct Proof<'a> {
    /// `Identifier`.
    pub identifier: Option<&'a str>,
    /// `IdentifierHash`.
    pub hash: Option<&'a str>,
    /// `IdentityToken`.
    pub token: Option<&'a str>,
}

/// The verified identifier, or why there is none.
pub fn verify(
    config: &IdentityConfig,
    proof: Proof<'_>,
    now: UnixMillis,
) -> Result<String, Failure> {
    let Some(secret) = config.secret.as_ref() else {
        // Validation requires a secret unless the mode is off; never verify without one.
        return Err(Failure::BadHash);
    };
    let secret = secret.expose().as_bytes();
    if let Some(token) = given(proof.token) {
        return verify_token(config, secret, token, now);
    }
    let Some(hash) = given(proof.hash) else {
        return Err(Failure::Missing);
    };
    if !config.accept_hash {
        return Err(Failure::HashNotAccepted);
    }
    let identifier = proof.identifier.ok_or(Failure::NoIdentifier)?;
    check_identifier(identifier)?;
    if hash.len() > MAX_PROOF_BYTES {
        return Err(Failure::BadHash);
    }
    let presented = hex::decode(hash.trim()).map_err(|_| Failure::BadHash)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| Failure::BadHash)?;
    mac.update(identifier.as_bytes());
    mac.verify_slice(&presented).map_err(|_| Failure::BadHash)?;
    Ok(identifier.to_owned())
}

/// The claims Parley reads from a token.
#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    nbf: Option<u64>,
}

fn verify_token(
    config: &IdentityConfig,
    secret: &[u8],
    token: &str,
    now: UnixMillis,
) -> Result<String, Failure> {
    if token.len() > MAX_PROOF_BYTES {
        return Err(Failure::BadToken);
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp", "sub"]);
    // Times are checked below against the `now` passed in, not the library's clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.leeway = 0;
    let data = jsonwebtoken::decode::<Claims>(
        token.trim(),
        &DecodingKey::from_secret(secret),
        &validation,
    )
    .map_err(|_| Failure::BadToken)?;
    let claims = data.claims;
    let now_s = u64::try_from(now.0.div_euclid(1000)).unwrap_or(0);
    if claims.exp <= now_s || claims.nbf.is_some_and(|nbf| nbf > now_s) {
        return Err(Failure::Expired);
    }
    if claims.exp - now_s > config.token_max_age_s {
        return Err(Failure::TooLong);
    }
    check_identifier(&claims.sub)?;
    Ok(claims.sub)
}

/// `s`, unless it is missing or blank.
fn given(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.trim().is_empty())
}

fn check_identifier(identifier: &str) -> Result<(), Failure> {
    let ok = !identifier.is_empty()
        && identifier.len() <= MAX_IDENTIFIER_BYTES
        && identifier.trim() == identifier
        && !identifier.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(Failure::BadIdentifier)
    }
}

#[cfg(test)]
mod tests;

//! Verified visitor identity (docs/security.md, "Verified visitor identity"): what a
//! customer's chat is allowed to say about who it is.
//!
//! A website that knows its visitor (logged in) signs the visitor's identifier with its
//! tenant's secret (`[identity.<tenant>]`) and passes it in the chat's user data, on
//! every transport alike (basic `createSession`, flex `join`, GMS `requestChat`):
//!
//! | key              | what                                                        |
//! |------------------|-------------------------------------------------------------|
//! | `Identifier`     | the visitor's stable id (an account id or email address)    |
//! | `IdentifierHash` | hex HMAC-SHA256(secret, Identifier)                          |
//! | `IdentityToken`  | or: an HS256 JWT `{"sub": identifier, "exp": ...}`           |
//!
//! [`check`] runs once, when a customer creates a chat, before contact matching:
//!
//! - `IdentifierHash`, `IdentityToken` and `ParleyIdentityVerified` are always taken out
//!   of the user data: the first two vouch for their identifier to whoever reads them,
//!   the last is the server's to set.
//! - Tenant `off` (or no table): nothing else happens; [`Identity::NotChecked`].
//! - Verified: `Identifier` is set to the verified identifier and
//!   `ParleyIdentityVerified` to `true`; contacts are matched by it.
//! - Not verified, `optional`: `Identifier` is removed (in a tenant that checks, it is
//!   always the verified one), `ParleyIdentityVerified` is `false`, and the chat is
//!   matched to no contact.
//! - Not verified, `required`: the chat is refused with `IDENTITY_NOT_VERIFIED` (1015).
//!
//! Failures are counted (`identity-missing`, `identity-failed`, `identity-refused`) and
//! logged at debug with their reason, never with the identifier, hash or token.

mod verify;

pub use verify::{verify, Failure, Proof, MAX_IDENTIFIER_BYTES};

use parley_core::contacts::IDENTIFIER;
use parley_core::{UnixMillis, UserData};
use parley_proto::ErrorCode;
use tracing::debug;

use crate::actor::CmdError;
use crate::config::{Config, IdentityMode};
use crate::counters::Counters;

/// User-data key of the hex HMAC-SHA256 of `Identifier`.
pub const IDENTIFIER_HASH: &str = "IdentifierHash";
/// User-data key of the signed, expiring token.
pub const IDENTITY_TOKEN: &str = "IdentityToken";
/// User-data key the server sets to `true` or `false` in tenants that check identities.
pub const VERIFIED_KEY: &str = "ParleyIdentityVerified";

/// What [`check`] decided about a chat's customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// The tenant does not check identities: contacts are matched as the seed says.
    NotChecked,
    /// The website vouched for this identifier.
    Verified(String),
    /// The tenant checks and the visitor is not verified: no contact.
    Unverified,
}

/// How a desktop or view shows a chat's identity, from its user data: `verified`,
/// `unverified`, or `None` when its tenant does not check.
pub fn shown(user_data: &UserData) -> Option<&'static str> {
    match user_data.get(VERIFIED_KEY).map(String::as_str) {
        Some("true") => Some("verified"),
        Some(_) => Some("unverified"),
        None => None,
    }
}

/// Removes the proofs (`IdentifierHash`, `IdentityToken`) from the user data of a party
/// joining an existing chat: identity is checked at creation only, and a proof vouches
/// for its identifier to whoever reads it.
pub fn strip_proofs(user_data: &mut UserData) {
    for key in [IDENTIFIER_HASH, IDENTITY_TOKEN] {
        user_data.remove(key);
    }
}

/// Removes what only the server may set, or nobody should read, from user data a
/// customer sends after creation (GMS `updateData`): `IdentifierHash`, `IdentityToken`,
/// `ParleyIdentityVerified`, and, when any tenant checks identities, `Identifier` (in
/// such a tenant it is always the verified one; a chat's tenant is not known here, and
/// a customer may name any service in the URL).
pub fn strip_update(config: &Config, user_data: &mut UserData) {
    for key in [IDENTIFIER_HASH, IDENTITY_TOKEN, VERIFIED_KEY] {
        user_data.remove(key);
    }
    if config
        .identity
        .values()
        .any(|i| i.mode != IdentityMode::Off)
    {
        user_data.remove(IDENTIFIER);
    }
}

/// Checks the identity a new chat of `tenant` claims in `user_data` (see the module
/// documentation), changing `user_data` accordingly.
pub fn check(
    config: &Config,
    counters: &Counters,
    tenant: &str,
    user_data: &mut UserData,
    now: UnixMillis,
) -> Result<Identity, CmdError> {
    let hash = user_data.remove(IDENTIFIER_HASH);
    let token = user_data.remove(IDENTITY_TOKEN);
    user_data.remove(VERIFIED_KEY);
    let Some(identity) = config.identity_for(tenant) else {
        return Ok(Identity::NotChecked);
    };
    let proof = Proof {
        identifier: user_data.get(IDENTIFIER).map(String::as_str),
        hash: hash.as_deref(),
        token: token.as_deref(),
    };
    match verify(identity, proof, now) {
        Ok(identifier) => {
            counters.identity_verified.inc();
            user_data.insert(IDENTIFIER.to_owned(), identifier.clone());
            user_data.insert(VERIFIED_KEY.to_owned(), "true".to_owned());
            Ok(Identity::Verified(identifier))
        }
        Err(failure) => {
            if failure.presented() {
                counters.identity_failed.inc();
            } else {
                counters.identity_missing.inc();
            }
            debug!(tenant, reason = ?failure, mode = ?identity.mode, "visitor identity not verified");
            if identity.mode == IdentityMode::Required {
                counters.identity_refused.inc();
                return Err(CmdError::new(
                    ErrorCode::IdentityNotVerified,
                    failure.message(),
                ));
            }
            user_data.remove(IDENTIFIER);
            user_data.insert(VERIFIED_KEY.to_owned(), "false".to_owned());
            Ok(Identity::Unverified)
        }
    }
}

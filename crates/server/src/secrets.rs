//! Identifiers and secrets from the OS CSPRNG. Secure keys and session passwords carry
//! 128 bits; only their SHA-256 digest is kept on the server side of a session.

use parley_core::{KeyHash, PartyId, SessionId, SessionPassword};
use sha2::{Digest, Sha256};

/// Fills `buf` from the OS CSPRNG. Failure means the OS cannot provide randomness, in
/// which case no secret can be made safely: the process stops rather than continue.
fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the OS CSPRNG is unavailable");
    buf
}

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A 16-character session (interaction) id, like Genesys' `00048aAPEQJ8000U`: 95 bits,
/// so ids do not collide across instances sharing a database.
pub fn new_session_id() -> SessionId {
    let bytes = random_bytes::<16>();
    let s: String = bytes
        .iter()
        .map(|b| char::from(ALNUM[usize::from(*b) % ALNUM.len()]))
        .collect();
    s.parse().expect("alphanumeric ids are valid")
}

/// A 16-hex-digit user id (64 bits), the Genesys `userId` shape.
pub fn new_party_id() -> PartyId {
    hex::encode(random_bytes::<8>())
        .to_uppercase()
        .parse()
        .expect("hex ids are valid")
}

/// A masking rule id: `mr-` and 16 hex digits (64 bits), unique across instances.
pub fn new_masking_rule_id() -> String {
    format!("mr-{}", hex::encode(random_bytes::<8>()))
}

/// A secure key: 128 bits as 32 hex digits.
pub fn new_secure_key() -> String {
    hex::encode(random_bytes::<16>())
}

/// A session password: 128 bits as 32 hex digits.
pub fn new_session_password() -> SessionPassword {
    SessionPassword::new(hex::encode(random_bytes::<16>()))
}

/// A document (stored file) id: 128 bits as 32 hex digits, unguessable.
pub fn new_document_id() -> String {
    hex::encode(random_bytes::<16>())
}

/// An agent login token: 256 bits as 64 hex digits (the directory keeps only its
/// SHA-256 digest).
pub fn new_agent_token() -> String {
    hex::encode(random_bytes::<32>())
}

/// A contact id: `c-` and 128 bits as 32 hex digits.
pub fn new_contact_id() -> parley_core::contacts::ContactId {
    format!("c-{}", hex::encode(random_bytes::<16>()))
        .parse()
        .expect("hex contact ids are valid")
}

/// Random id of this server process (owner of its sessions' leases).
pub fn new_instance_id() -> String {
    hex::encode(random_bytes::<8>())
}

/// A nonce for a forwarded request's signature (128 bits).
pub fn new_nonce() -> [u8; 16] {
    random_bytes::<16>()
}

/// A cluster secret (256 bits, hex), offered to the store by an instance that finds
/// none there.
pub fn new_cluster_secret() -> String {
    hex::encode(random_bytes::<32>())
}

/// The digest a session keeps of a secure key.
pub fn hash_key(key: &str) -> KeyHash {
    KeyHash(Sha256::digest(key.as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_keys_have_the_documented_shapes_and_differ() {
        let a = new_secure_key();
        assert_eq!(a.len(), 32);
        assert_ne!(a, new_secure_key());
        assert_eq!(new_session_id().as_str().len(), 16);
        assert_eq!(new_party_id().as_str().len(), 16);
        assert!(hash_key(&a).matches(&hash_key(&a)));
        assert!(!hash_key(&a).matches(&hash_key(&new_secure_key())));
    }
}

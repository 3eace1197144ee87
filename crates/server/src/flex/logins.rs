//! Pending flex logins: `login` gives an identity and remembers who the customer said it
//! is until `join` starts or joins a session. Bounded in count and time, so logins that
//! never join cannot grow memory.

use std::collections::HashMap;
use std::sync::Mutex;

use parley_core::{KeyHash, PartyId, UnixMillis};
use parley_proto::ErrorCode;

use crate::actor::CmdError;
use crate::customer::Login;

/// Most logins waiting for a join at once.
const MAX_PENDING: usize = 100_000;

struct Pending {
    login: Login,
    key: KeyHash,
    expires: UnixMillis,
}

/// Logins waiting for their `join`.
#[derive(Default)]
pub(super) struct PendingLogins {
    map: Mutex<HashMap<PartyId, Pending>>,
}

impl PendingLogins {
    /// Remembers a login until `expires`.
    pub(super) fn insert(
        &self,
        party: PartyId,
        login: Login,
        key: KeyHash,
        now: UnixMillis,
        expires: UnixMillis,
    ) -> Result<(), CmdError> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_PENDING {
            map.retain(|_, p| p.expires > now);
        }
        if map.len() >= MAX_PENDING {
            return Err(CmdError::new(
                ErrorCode::Unavailable,
                "too many pending logins; try again",
            ));
        }
        map.insert(
            party,
            Pending {
                login,
                key,
                expires,
            },
        );
        Ok(())
    }

    /// The login of `party`, if its key matches and it has not expired. It stays until
    /// the join succeeds (`forget`), so a retried join works.
    pub(super) fn get(
        &self,
        party: &PartyId,
        key: &KeyHash,
        now: UnixMillis,
    ) -> Result<Login, CmdError> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(party) {
            Some(p) if p.expires > now && p.key.matches(key) => Ok(p.login.clone()),
            Some(p) if p.expires > now => {
                Err(CmdError::new(ErrorCode::BadSecureKey, "bad secure key"))
            }
            _ => Err(CmdError::new(
                ErrorCode::LoggedOut,
                "log in first (or again)",
            )),
        }
    }

    /// Drops a login once it has joined.
    pub(super) fn forget(&self, party: &PartyId) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(party);
    }
}

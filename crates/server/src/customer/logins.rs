//! Pending flex logins: `login` gives an identity and remembers who the customer said it
//! is until `join` starts or joins a session. Bounded in count and time, so logins that
//! never join cannot grow memory.

use std::collections::HashMap;
use std::sync::Mutex;

use parley_core::{ClientVersion, KeyHash, PartyId, UnixMillis, UserData};
use parley_proto::ErrorCode;

use crate::actor::CmdError;

/// Most logins waiting for a join at once.
const MAX_PENDING: usize = 100_000;

/// What a customer said at login.
#[derive(Debug, Clone)]
pub struct Login {
    /// Display name.
    pub nickname: String,
    /// `FirstName`.
    pub first_name: Option<String>,
    /// `LastName`.
    pub last_name: Option<String>,
    /// `EmailAddress`.
    pub email: Option<String>,
    /// Capability level.
    pub version: ClientVersion,
}

impl Login {
    /// The contact attributes as user data (`FirstName`, `LastName`, `EmailAddress`).
    pub fn user_data(&self) -> UserData {
        let mut d = UserData::new();
        let mut put = |k: &str, v: &Option<String>| {
            if let Some(v) = v.as_ref().filter(|v| !v.trim().is_empty()) {
                d.insert(k.to_owned(), v.trim().to_owned());
            }
        };
        put("FirstName", &self.first_name);
        put("LastName", &self.last_name);
        put("EmailAddress", &self.email);
        d
    }

    /// Builds a login from the name fields: `nickname`, or `firstName` + `lastName`.
    pub fn new(
        nickname: Option<String>,
        first_name: Option<String>,
        last_name: Option<String>,
        email: Option<String>,
        version: ClientVersion,
    ) -> Result<Login, CmdError> {
        let clean = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let nickname = clean(&nickname).or_else(|| {
            let full = [clean(&first_name), clean(&last_name)]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!full.is_empty()).then_some(full)
        });
        let Some(nickname) = nickname else {
            return Err(CmdError::new(
                ErrorCode::InvalidField,
                "give a nickname, or a first and last name",
            ));
        };
        if nickname.chars().count() > 64 {
            return Err(CmdError::new(
                ErrorCode::InvalidField,
                "nickname must be at most 64 characters",
            ));
        }
        for v in [&first_name, &last_name, &email].into_iter().flatten() {
            if v.len() > 256 {
                return Err(CmdError::new(
                    ErrorCode::LimitExceeded,
                    "name or e-mail too long",
                ));
            }
        }
        Ok(Login {
            nickname,
            first_name: clean(&first_name),
            last_name: clean(&last_name),
            email: clean(&email),
            version,
        })
    }
}

struct Pending {
    login: Login,
    key: KeyHash,
    expires: UnixMillis,
}

/// Logins waiting for their `join`.
#[derive(Default)]
pub struct PendingLogins {
    map: Mutex<HashMap<PartyId, Pending>>,
}

impl PendingLogins {
    /// Remembers a login until `expires`.
    pub fn insert(
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
    pub fn get(&self, party: &PartyId, key: &KeyHash, now: UnixMillis) -> Result<Login, CmdError> {
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
    pub fn forget(&self, party: &PartyId) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(party);
    }
}

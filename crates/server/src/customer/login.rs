//! What a customer says about itself at login (flex `login`, GMS `requestChat`): a
//! nickname, or a first and last name, and contact attributes.

use parley_core::{ClientVersion, UserData};
use parley_proto::ErrorCode;

use crate::actor::CmdError;

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

//! Stable error codes. Genesys codes are reused where one exists (8201, 8209, 8210);
//! the others are Parley's own and never change meaning once published.

use serde::{Deserialize, Serialize};

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $num:literal, $wire:literal;)*) => {
        /// A stable error code: a number and a SCREAMING_SNAKE name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $name,)*
        }

        impl ErrorCode {
            /// Every code, for documentation and tests.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name,)*];

            /// The numeric code.
            pub fn number(self) -> u16 {
                match self { $(ErrorCode::$name => $num,)* }
            }
            /// The stable name.
            pub fn name(self) -> &'static str {
                match self { $(ErrorCode::$name => $wire,)* }
            }
            /// The code with this number.
            pub fn from_number(n: u16) -> Option<ErrorCode> {
                match n { $($num => Some(ErrorCode::$name),)* _ => None }
            }
        }
    };
}

codes! {
    /// The frame is not valid JSON, or not a JSON object.
    MalformedFrame = 1001, "MALFORMED_FRAME";
    /// The frame's `type` is not one the server knows.
    UnknownFrameType = 1002, "UNKNOWN_FRAME_TYPE";
    /// A field is missing, unknown, of the wrong type or out of range.
    InvalidField = 1003, "INVALID_FIELD";
    /// The frame is larger than the configured maximum.
    FrameTooLarge = 1004, "FRAME_TOO_LARGE";
    /// A binary frame, or text that is not UTF-8.
    NotText = 1005, "NOT_TEXT";
    /// The connection must register first.
    NotRegistered = 1006, "NOT_REGISTERED";
    /// The connection has already registered.
    AlreadyRegistered = 1007, "ALREADY_REGISTERED";
    /// No registration arrived within `user-register-timeout`.
    RegisterTimeout = 1008, "REGISTER_TIMEOUT";
    /// Missing or wrong credentials.
    Unauthorized = 1009, "UNAUTHORIZED";
    /// The party may not do this.
    NotAllowed = 1010, "NOT_ALLOWED";
    /// A size or count limit was exceeded (message text, user data, ...).
    LimitExceeded = 1011, "LIMIT_EXCEEDED";
    /// A request carrying the instance-to-instance forwarding header that does not
    /// authenticate: forged, altered, stale, replayed or addressed to another instance
    /// (HTTP 401). Clients never send that header.
    ForwardRefused = 1012, "FORWARD_REFUSED";
    /// The request comes from a web page whose origin is not allowed
    /// (`[web] cors-allowed-origins`).
    OriginNotAllowed = 1013, "ORIGIN_NOT_ALLOWED";
    /// The client goes faster than `[rate-limits]` allows: retry later (HTTP 429 with
    /// `Retry-After`); a WebSocket connection stays usable.
    RateLimited = 1014, "RATE_LIMITED";
    /// The chat's tenant requires a verified visitor identity (`[identity.<tenant>] mode =
    /// "required"`) and the request carried none, or one whose signature, token or
    /// expiry did not verify (HTTP 403).
    IdentityNotVerified = 1015, "IDENTITY_NOT_VERIFIED";
    /// The session does not exist (or no longer exists).
    SessionNotFound = 2001, "SESSION_NOT_FOUND";
    /// The session is over.
    SessionOver = 2002, "SESSION_OVER";
    /// The party is already in the session.
    AlreadyJoined = 2003, "ALREADY_JOINED";
    /// The session password is wrong or missing.
    WrongSessionPassword = 2004, "WRONG_SESSION_PASSWORD";
    /// The direct-message receiver is not in the session.
    NoSuchReceiver = 2005, "NO_SUCH_RECEIVER";
    /// The server cannot serve this now: the session is served by another instance or is
    /// moving to one (retry), or new sessions are refused (load limits, draining).
    Unavailable = 2006, "UNAVAILABLE";
    /// Not (or no longer) a party of the session (Genesys 8201).
    NoSuchUser = 8201, "NO_SUCH_USER";
    /// The user was logged out (Genesys 8209).
    LoggedOut = 8209, "LOGGED_OUT";
    /// Wrong secure key (Genesys 8210).
    BadSecureKey = 8210, "BAD_SECURE_KEY";
    /// The transcript could not be stored; the request may be retried with the same
    /// `clientMessageId`.
    StoreFailed = 5001, "STORE_FAILED";
    /// An unexpected server failure.
    Internal = 5000, "INTERNAL";
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u16(self.number())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u16::deserialize(d)?;
        ErrorCode::from_number(n).ok_or_else(|| serde::de::Error::custom("unknown error code"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names_are_unique_and_round_trip() {
        let mut numbers = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(
                numbers.insert(c.number()),
                "duplicate number {}",
                c.number()
            );
            assert!(names.insert(c.name()), "duplicate name {}", c.name());
            assert_eq!(ErrorCode::from_number(c.number()), Some(*c));
        }
        assert_eq!(ErrorCode::BadSecureKey.number(), 8210);
    }
}

//! Parties of a chat session and the enumerations that describe them (PSDK names).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::ids::{PartyId, UnixMillis};

/// Key/value user data as carried by joins, notices and interactions.
pub type UserData = BTreeMap<String, String>;

/// Kind of participant (PSDK `UserType`, plus `SYSTEM` from ClientVersion 103).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PartyType {
    /// A customer.
    Client,
    /// An agent (or a bot, see [`PartyStyle::Bot`]).
    Agent,
    /// A supervisor.
    Supervisor,
    /// A workflow (ESP) or other external party.
    External,
    /// The server itself (idle-control notices); needs ClientVersion 103.
    System,
}

impl PartyType {
    /// Agents and supervisors: the parties that can see internal (`INT`) events.
    pub fn is_staff(self) -> bool {
        matches!(self, PartyType::Agent | PartyType::Supervisor)
    }
}

/// Who may see an event (PSDK `Visibility`). As a join visibility it says how the party
/// takes part: `ALL` visibly, `INT` as a silent monitor, `VIP` as a coach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Visibility {
    /// Every party.
    All,
    /// Agents and supervisors only (never customers).
    Int,
    /// Supervisors only, plus coaches (parties joined with `VIP`).
    Vip,
}

impl Visibility {
    /// The narrower of two visibilities (`VIP` ⊂ `INT` ⊂ `ALL` in audience).
    pub fn narrower(self, other: Visibility) -> Visibility {
        fn rank(v: Visibility) -> u8 {
            match v {
                Visibility::All => 0,
                Visibility::Int => 1,
                Visibility::Vip => 2,
            }
        }
        if rank(self) >= rank(other) {
            self
        } else {
            other
        }
    }
}

/// How a party behaves for after-actions and reporting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PartyStyle {
    /// An ordinary participant.
    #[default]
    Normal,
    /// A bot (`GCTI_Chat_SetPartyStyle=BOT` on join): never counted as an agent.
    Bot,
}

/// Which protocol a party uses (PSDK `ProtocolType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    /// Connection-based WebSocket clients.
    Basic,
    /// Connectionless HTTP clients.
    Flex,
    /// Workflow requests.
    Esp,
    /// The server itself.
    None,
}

/// What should happen to the session when a party leaves (PSDK `Action`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub enum AfterAction {
    /// Leave; the session goes on while anyone visible remains.
    #[default]
    KeepAlive,
    /// Leave; close the session if no (non-bot) agent or supervisor remains.
    CloseIfNoAgents,
    /// Leave and close the session.
    ForceClose,
}

/// The protocol capability level a client registered with (PSDK `ClientVersion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct ClientVersion(u16);

impl ClientVersion {
    /// Base functionality (the default).
    pub const V101: ClientVersion = ClientVersion(101);
    /// Adds `USER_UPDATE_NICK`.
    pub const V102: ClientVersion = ClientVersion(102);
    /// Adds idle control notices, `idleTimeExpire`, the `SYSTEM` user type.
    pub const V103: ClientVersion = ClientVersion(103);
    /// Adds `SYS_COMMAND` notices and user data on notice events.
    pub const V104: ClientVersion = ClientVersion(104);
    /// Adds the `monitored` transcript attribute.
    pub const V105: ClientVersion = ClientVersion(105);
    /// Adds `eventAttributes` on every event.
    pub const V106: ClientVersion = ClientVersion(106);
    /// The newest version Parley speaks.
    pub const LATEST: ClientVersion = ClientVersion::V106;

    /// The number as registered.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl Default for ClientVersion {
    fn default() -> Self {
        ClientVersion::V101
    }
}

impl TryFrom<u16> for ClientVersion {
    type Error = crate::CoreError;
    fn try_from(v: u16) -> Result<Self, Self::Error> {
        if (101..=106).contains(&v) {
            Ok(ClientVersion(v))
        } else {
            Err(crate::CoreError::InvalidField {
                field: "clientVersion",
                reason: "must be 101 to 106",
            })
        }
    }
}

impl From<ClientVersion> for u16 {
    fn from(v: ClientVersion) -> u16 {
        v.0
    }
}

/// SHA-256 of a party's secure key. The key itself is only ever held by the client; the
/// session keeps this digest (inside the party's join event) so that any instance that
/// restores the session can check a reconnecting party.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeyHash(#[serde(with = "hex32")] pub [u8; 32]);

impl KeyHash {
    /// Constant-time comparison, so timing does not reveal how much of a key matched.
    pub fn matches(&self, other: &KeyHash) -> bool {
        use subtle::ConstantTimeEq;
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyHash(..)")
    }
}

mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        let mut out = String::with_capacity(64);
        for b in v {
            out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        }
        s.serialize_str(&out)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return Err(serde::de::Error::custom("key hash must be 64 hex digits"));
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16);
            let lo = (pair[1] as char).to_digit(16);
            match (hi, lo) {
                (Some(h), Some(l)) => out[i] = (h * 16 + l) as u8,
                _ => return Err(serde::de::Error::custom("key hash must be hex")),
            }
        }
        Ok(out)
    }
}

/// One participant as the session knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Party {
    /// The user id.
    pub id: PartyId,
    /// Current nickname (changes with `USER_UPDATE_NICK`).
    pub nickname: String,
    /// The nickname at join, once the party has changed it.
    pub original_nickname: Option<String>,
    /// Kind of participant.
    pub party_type: PartyType,
    /// How the party joined: visibly, monitoring or coaching.
    pub visibility: Visibility,
    /// Bot or not.
    pub style: PartyStyle,
    /// Protocol the party uses.
    pub protocol: Protocol,
    /// Capability level of the party's client.
    pub client_version: ClientVersion,
    /// Digest of the party's secure key, if it has one.
    pub key_hash: Option<KeyHash>,
    /// Login of the agent behind the party (empty for customers).
    pub person_id: Option<String>,
    /// When the party (last) joined.
    pub joined_at: UnixMillis,
    /// Whether the party is in the session now.
    pub present: bool,
    /// Since when the party's connection is gone, if it is (it may come back).
    pub detached_since: Option<UnixMillis>,
    /// Id of the party's join event, whose user data records `GCTI_Original_Nickname`.
    pub join_event: crate::EventId,
}

impl Party {
    /// A human agent or supervisor who takes part visibly: the "agent" of reporting and
    /// of `CloseIfNoAgents`.
    pub fn is_visible_agent(&self) -> bool {
        self.party_type.is_staff() && self.style == PartyStyle::Normal
    }
}

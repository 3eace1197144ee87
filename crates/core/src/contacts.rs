//! Contacts (Genesys UCS's role): who the customer of a chat is, across chats.
//!
//! A chat's user data carries identifying attributes (`EmailAddress`, `PhoneNumber`,
//! `FirstName`, `LastName`). [`match_contact`] finds the stored contact they describe, or
//! says to create one; [`merged_user_data`] is what the interaction then carries: the
//! contact's stored attributes where the user data does not override them, plus
//! `ContactID`. The shell does the lookups ([`lookup`] says which one) and the writes.
//!
//! Matching follows the seed's search-order table, as UCS applies it by default:
//!
//! | Attribute    | Search order |
//! |--------------|--------------|
//! | EmailAddress | 0            |
//! | PhoneNumber  | 1            |
//! | FirstName    | 2            |
//! | LastName     | 2            |
//!
//! - Only user-data keys spelled exactly as above take part (`email_address` does not).
//!   A blank value is no value.
//! - The search starts at the first order for which the user data has a value, and keeps
//!   the contacts of the chat's tenant whose attribute equals it. FirstName and LastName
//!   share order 2 and are matched as a pair: order 2 has a value only when both do, and
//!   a contact matches it only when both are equal. A first name (or a last name) alone
//!   identifies nobody: it neither finds, narrows, nor creates a contact, so a visitor who
//!   types a common first name cannot pull up a stored customer (issue 13).
//! - No contact found: a new contact is created from the user data (and every later
//!   order is irrelevant: an email address no contact has means a new contact even if the
//!   phone number is known).
//! - One contact found: that is the customer, whatever the lower orders say (the seed's
//!   "Speve" example: the email address wins over a mistyped first name).
//! - Several found: the next order with a value narrows them to those that match it too.
//!   Narrowed to none: a new contact (nobody stored is that person). Still several after
//!   the last order: [`MatchOutcome::Ambiguous`], no contact is chosen or created.
//! - No identifying attribute at all (no email address, no phone number, not both
//!   names): [`MatchOutcome::Unidentified`].
//!
//! A visitor whose identity the website vouched for is matched by what was signed
//! instead ([`match_verified`], `contacts/verified.rs`).
//!
//! Values are compared after normalisation (see [`normalize_email`], [`normalize_phone`],
//! [`normalize_name`]): surrounding whitespace never matters, and neither does letter
//! case in email addresses and names, nor spacing and `-().` separators in phone numbers.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::error::CoreError;
use crate::ids::UnixMillis;
use crate::party::UserData;

mod verified;
pub use verified::{match_verified, new_attributes, verified_claims, verified_lookups, IDENTIFIER};

/// User-data key of the email address (search order 0).
pub const EMAIL_ADDRESS: &str = "EmailAddress";
/// User-data key of the phone number (search order 1).
pub const PHONE_NUMBER: &str = "PhoneNumber";
/// User-data key of the first name (search order 2, only as a pair with `LastName`).
pub const FIRST_NAME: &str = "FirstName";
/// User-data key of the last name (search order 2, only as a pair with `FirstName`).
pub const LAST_NAME: &str = "LastName";
/// User-data key of the title: stored on new contacts, not used in matching.
pub const TITLE: &str = "Title";
/// User-data key the contact's id is returned under.
pub const CONTACT_ID: &str = "ContactID";

/// The user-data keys a new contact is created from (UCS's default contact attributes).
pub const STANDARD_ATTRIBUTES: [&str; 5] =
    [EMAIL_ADDRESS, PHONE_NUMBER, FIRST_NAME, LAST_NAME, TITLE];

/// How many contacts one lookup may return to [`match_contact`]: a bound on the work a
/// common name can cause. Narrowing happens among these.
pub const MATCH_CANDIDATE_LIMIT: u32 = 100;

crate::ids::token_id!(
    /// A contact: 1 to 64 ASCII letters, digits, `-` or `_` (the shell makes them random).
    ContactId,
    "contactId"
);

/// A contact's stored attributes, by name (`EmailAddress`, `PhoneNumber`, `FirstName`,
/// `LastName`, and any other). Values are kept as given, trimmed; a blank value is no
/// attribute. `ContactID` is never an attribute: it is the contact's id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContactAttributes(BTreeMap<String, String>);

impl ContactAttributes {
    /// No attributes.
    pub fn new() -> ContactAttributes {
        ContactAttributes::default()
    }

    /// The [`STANDARD_ATTRIBUTES`] present in `user_data`: what a new contact is made of.
    pub fn from_user_data(user_data: &UserData) -> ContactAttributes {
        let mut attributes = ContactAttributes::new();
        for name in STANDARD_ATTRIBUTES {
            if let Some(value) = user_data.get(name) {
                attributes.put(name, value);
            }
        }
        attributes
    }

    /// Sets an attribute (trimmed); a blank value removes it. Refuses an empty name and
    /// `ContactID`.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), CoreError> {
        if name.is_empty() || name == CONTACT_ID {
            return Err(CoreError::InvalidField {
                field: "contact attribute",
                reason: "the name must be non-empty and not ContactID",
            });
        }
        self.put(name, value);
        Ok(())
    }

    fn put(&mut self, name: &str, value: &str) {
        let value = value.trim();
        if value.is_empty() {
            self.0.remove(name);
        } else {
            self.0.insert(name.to_owned(), value.to_owned());
        }
    }

    /// Removes an attribute, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        self.0.remove(name)
    }

    /// An attribute's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Every attribute, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How many attributes there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The normalised values matching compares (and the store indexes).
    pub fn keys(&self) -> MatchKeys {
        MatchKeys::of(|name| self.get(name))
    }
}

/// A stored contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Its id (`ContactID`).
    pub id: ContactId,
    /// The tenant it belongs to: contacts are never matched across tenants.
    pub tenant: String,
    /// Its attributes.
    pub attributes: ContactAttributes,
    /// When it was created.
    pub created_at: UnixMillis,
    /// When its attributes last changed.
    pub updated_at: UnixMillis,
}

/// `EmailAddress` as compared: trimmed and lowercased; `None` when blank.
pub fn normalize_email(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_lowercase())
}

/// `PhoneNumber` as compared: without whitespace and the separators `-`, `.`, `(` and
/// `)` (so `+1 (555) 654-6303` is `+15556546303`); `None` when nothing else is left.
pub fn normalize_phone(value: &str) -> Option<String> {
    let kept: String = value
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '.' | '(' | ')'))
        .collect();
    (!kept.is_empty()).then_some(kept)
}

/// `FirstName` / `LastName` as compared: trimmed, inner whitespace runs made one space,
/// lowercased; `None` when blank.
pub fn normalize_name(value: &str) -> Option<String> {
    let words: Vec<&str> = value.split_whitespace().collect();
    (!words.is_empty()).then(|| words.join(" ").to_lowercase())
}

/// The normalised identifying values of a user data or a contact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MatchKeys {
    /// Normalised `EmailAddress`.
    pub email: Option<String>,
    /// Normalised `PhoneNumber`.
    pub phone: Option<String>,
    /// Normalised `FirstName`.
    pub first_name: Option<String>,
    /// Normalised `LastName`.
    pub last_name: Option<String>,
}

impl MatchKeys {
    /// The keys of a chat's user data (exact key names only).
    pub fn of_user_data(user_data: &UserData) -> MatchKeys {
        MatchKeys::of(|name| user_data.get(name).map(String::as_str))
    }

    fn of<'a>(get: impl Fn(&str) -> Option<&'a str>) -> MatchKeys {
        MatchKeys {
            email: get(EMAIL_ADDRESS).and_then(normalize_email),
            phone: get(PHONE_NUMBER).and_then(normalize_phone),
            first_name: get(FIRST_NAME).and_then(normalize_name),
            last_name: get(LAST_NAME).and_then(normalize_name),
        }
    }

    /// Whether these keys have a value at `order` (order 2: both names).
    fn has(&self, order: SearchOrder) -> bool {
        match order {
            SearchOrder::EmailAddress => self.email.is_some(),
            SearchOrder::PhoneNumber => self.phone.is_some(),
            SearchOrder::Name => self.first_name.is_some() && self.last_name.is_some(),
        }
    }

    /// Whether `stored` matches these (user-data) keys at `order`: an equal value, never
    /// a missing one (order 2: both names equal).
    fn matched_by(&self, stored: &MatchKeys, order: SearchOrder) -> bool {
        fn same(want: &Option<String>, have: &Option<String>) -> bool {
            want.is_some() && want == have
        }
        match order {
            SearchOrder::EmailAddress => same(&self.email, &stored.email),
            SearchOrder::PhoneNumber => same(&self.phone, &stored.phone),
            SearchOrder::Name => {
                same(&self.first_name, &stored.first_name)
                    && same(&self.last_name, &stored.last_name)
            }
        }
    }
}

/// A row of the search-order table (FirstName and LastName share one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchOrder {
    /// Order 0.
    EmailAddress,
    /// Order 1.
    PhoneNumber,
    /// Order 2: FirstName and LastName, as a pair.
    Name,
}

impl SearchOrder {
    /// The orders, first to last.
    pub const ALL: [SearchOrder; 3] = [
        SearchOrder::EmailAddress,
        SearchOrder::PhoneNumber,
        SearchOrder::Name,
    ];

    /// The number in the seed's table.
    pub fn number(self) -> u8 {
        match self {
            SearchOrder::EmailAddress => 0,
            SearchOrder::PhoneNumber => 1,
            SearchOrder::Name => 2,
        }
    }
}

/// The one store lookup a match needs: by the first order the user data has a value for.
/// Values are normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Contacts with this email address.
    Email(String),
    /// Contacts with this phone number.
    Phone(String),
    /// Contacts with this first name and this last name (both: never one alone).
    Name {
        /// First name.
        first: String,
        /// Last name.
        last: String,
    },
    /// Contacts whose `Identifier` is exactly this (verified visitors only,
    /// [`verified_lookups`]).
    Identifier(String),
}

/// Which contacts the shell should fetch (at most [`MATCH_CANDIDATE_LIMIT`], of the
/// chat's tenant) before calling [`match_contact`]; `None` when the user data identifies
/// nobody.
pub fn lookup(user_data: &UserData) -> Option<Lookup> {
    let keys = MatchKeys::of_user_data(user_data);
    let order = SearchOrder::ALL.into_iter().find(|o| keys.has(*o))?;
    Some(match order {
        SearchOrder::EmailAddress => Lookup::Email(keys.email?),
        SearchOrder::PhoneNumber => Lookup::Phone(keys.phone?),
        SearchOrder::Name => Lookup::Name {
            first: keys.first_name?,
            last: keys.last_name?,
        },
    })
}

/// What identification decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchOutcome {
    /// This stored contact is the customer.
    Matched(ContactId),
    /// Nobody stored matches: create a contact with these attributes.
    Create(ContactAttributes),
    /// Several contacts match every order the user data has a value for (sorted ids).
    /// None is chosen and none is created.
    Ambiguous(Vec<ContactId>),
    /// The user data has no identifying attribute: no contact.
    Unidentified,
}

/// Identifies the customer of a chat of `tenant` from its `user_data`, among
/// `candidates`: the contacts the shell fetched for [`lookup`]. Any superset does as
/// well (every rule is re-checked here, contacts of other tenants are ignored, a contact
/// listed twice counts once, matching if either listing does), and the order of
/// `candidates` does not matter.
pub fn match_contact(tenant: &str, user_data: &UserData, candidates: &[Contact]) -> MatchOutcome {
    let want = MatchKeys::of_user_data(user_data);
    let mut orders = SearchOrder::ALL.into_iter().filter(|o| want.has(*o));
    let Some(first) = orders.next() else {
        return MatchOutcome::Unidentified;
    };
    // Each id with the keys of its listings that still match (one, unless the caller
    // listed a contact twice, possibly as read at different times).
    let mut found: BTreeMap<&ContactId, Vec<MatchKeys>> = BTreeMap::new();
    for c in candidates.iter().filter(|c| c.tenant == tenant) {
        let keys = c.attributes.keys();
        if want.matched_by(&keys, first) {
            found.entry(&c.id).or_default().push(keys);
        }
    }
    for order in orders {
        if found.len() <= 1 {
            break;
        }
        found.retain(|_, listings| {
            listings.retain(|keys| want.matched_by(keys, order));
            !listings.is_empty()
        });
    }
    let mut ids = found.into_keys();
    match (ids.next(), ids.next()) {
        (None, _) => MatchOutcome::Create(ContactAttributes::from_user_data(user_data)),
        (Some(id), None) => MatchOutcome::Matched(id.clone()),
        (Some(a), Some(b)) => {
            let mut all = vec![a.clone(), b.clone()];
            all.extend(ids.cloned());
            MatchOutcome::Ambiguous(all)
        }
    }
}

/// The user data of an interaction identified as `contact`: every stored attribute the
/// user data does not override (a blank user-data value does not override), then the
/// user data, then `ContactID`. The stored contact is not changed.
pub fn merged_user_data(contact: &Contact, user_data: &UserData) -> UserData {
    let mut merged: UserData = contact
        .attributes
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    for (key, value) in user_data {
        if !value.trim().is_empty() || !merged.contains_key(key) {
            merged.insert(key.clone(), value.clone());
        }
    }
    merged.insert(CONTACT_ID.to_owned(), contact.id.to_string());
    merged
}

#[cfg(test)]
mod tests;

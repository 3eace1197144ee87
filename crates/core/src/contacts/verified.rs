//! Matching a visitor whose identity the website vouched for (Parley's verified visitor
//! identity, docs/security.md): only what the website signed identifies.
//!
//! The website signs one identifier (an account id, an email address, ...). The contact's
//! stored `Identifier` attribute is compared with it exactly, before anything else; the
//! visitor's other attributes are claims anyone can type into a pre-chat form, so they
//! take part only where they *are* the signed identifier:
//!
//! 1. Contacts of the tenant whose `Identifier` is the identifier: one is the customer;
//!    several are ambiguous (none chosen, none created).
//! 2. Nobody has it: the `EmailAddress` and `PhoneNumber` of the user data whose value
//!    is the identifier (as normalised for matching; a website that signs the email
//!    address gets today's email matching) are matched by the search order of
//!    [`match_contact`](super::match_contact), among the contacts that have no
//!    `Identifier` (a contact with another one is somebody else, verified).
//! 3. Still nobody: a new contact from the user data, with the `Identifier`.
//!
//! An unverified visitor is not matched at all: the shell never calls matching for it.

use super::{
    match_contact, normalize_email, normalize_phone, Contact, ContactAttributes, ContactId, Lookup,
    MatchOutcome, EMAIL_ADDRESS, PHONE_NUMBER,
};
use crate::party::UserData;

/// User-data key (and contact attribute) of the identifier a website vouches for.
pub const IDENTIFIER: &str = "Identifier";

/// The user data matching may use for a visitor verified as `identifier`: the
/// `EmailAddress` and `PhoneNumber` whose value is the identifier (normalised), nothing
/// else.
pub fn verified_claims(identifier: &str, user_data: &UserData) -> UserData {
    let mut claims = UserData::new();
    let same = |key: &str, norm: fn(&str) -> Option<String>| {
        let claimed = user_data.get(key).and_then(|v| norm(v));
        claimed.is_some() && claimed == norm(identifier)
    };
    for (key, norm) in [
        (EMAIL_ADDRESS, normalize_email as fn(&str) -> Option<String>),
        (PHONE_NUMBER, normalize_phone),
    ] {
        if same(key, norm) {
            if let Some(v) = user_data.get(key) {
                claims.insert(key.to_owned(), v.clone());
            }
        }
    }
    claims
}

/// The lookups a verified visitor needs: by the identifier, then (when nobody has it)
/// the one [`lookup`](super::lookup) of its [`verified_claims`], if any.
pub fn verified_lookups(identifier: &str, user_data: &UserData) -> (Lookup, Option<Lookup>) {
    (
        Lookup::Identifier(identifier.trim().to_owned()),
        super::lookup(&verified_claims(identifier, user_data)),
    )
}

/// Identifies a visitor of `tenant` verified as `identifier` among `candidates` (the
/// contacts the shell fetched for [`verified_lookups`]; any superset does as well), by
/// the rules of this module. Never [`MatchOutcome::Unidentified`]: a verified visitor
/// always has an identifier.
pub fn match_verified(
    tenant: &str,
    identifier: &str,
    user_data: &UserData,
    candidates: &[Contact],
) -> MatchOutcome {
    let identifier = identifier.trim();
    let in_tenant = candidates.iter().filter(|c| c.tenant == tenant);
    let mut holders: Vec<&ContactId> = in_tenant
        .clone()
        .filter(|c| c.attributes.get(IDENTIFIER) == Some(identifier))
        .map(|c| &c.id)
        .collect();
    holders.sort();
    holders.dedup();
    match holders.as_slice() {
        [one] => return MatchOutcome::Matched((*one).clone()),
        [] => {}
        several => return MatchOutcome::Ambiguous(several.iter().map(|&c| c.clone()).collect()),
    }
    let unclaimed: Vec<Contact> = in_tenant
        .filter(|c| c.attributes.get(IDENTIFIER).is_none())
        .cloned()
        .collect();
    match match_contact(tenant, &verified_claims(identifier, user_data), &unclaimed) {
        found @ (MatchOutcome::Matched(_) | MatchOutcome::Ambiguous(_)) => found,
        MatchOutcome::Create(_) | MatchOutcome::Unidentified => {
            MatchOutcome::Create(new_attributes(identifier, user_data))
        }
    }
}

/// A new verified contact: the standard attributes of the user data and the identifier.
pub fn new_attributes(identifier: &str, user_data: &UserData) -> ContactAttributes {
    let mut attributes = ContactAttributes::from_user_data(user_data);
    attributes.put(IDENTIFIER, identifier);
    attributes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UnixMillis;

    const TENANT: &str = "acme";

    fn data(pairs: &[(&str, &str)]) -> UserData {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn contact(id: &str, pairs: &[(&str, &str)]) -> Contact {
        let mut attributes = ContactAttributes::new();
        for (k, v) in pairs {
            attributes.set(k, v).expect("fixture attribute");
        }
        Contact {
            id: id.parse().expect("fixture contact id"),
            tenant: TENANT.to_owned(),
            attributes,
            created_at: UnixMillis(1),
            updated_at: UnixMillis(1),
        }
    }

    fn id(s: &str) -> ContactId {
        s.parse().expect("fixture contact id")
    }

    fn directory() -> Vec<Contact> {
        vec![
            contact(
                "steve",
                &[
                    ("Identifier", "u-1"),
                    ("EmailAddress", "steve@apple.example"),
                ],
            ),
            contact("legacy", &[("EmailAddress", "old@apple.example")]),
            contact(
                "other",
                &[
                    ("Identifier", "u-9"),
                    ("EmailAddress", "shared@apple.example"),
                ],
            ),
        ]
    }

    #[test]
    fn the_identifier_decides_whatever_else_is_claimed() {
        let ud = data(&[("EmailAddress", "old@apple.example"), ("FirstName", "X")]);
        assert_eq!(
            match_verified(TENANT, "u-1", &ud, &directory()),
            MatchOutcome::Matched(id("steve"))
        );
    }

    #[test]
    fn a_claimed_email_that_is_not_the_identifier_matches_nobody() {
        let ud = data(&[("EmailAddress", "old@apple.example")]);
        let MatchOutcome::Create(attrs) = match_verified(TENANT, "u-2", &ud, &directory()) else {
            panic!("a new contact expected");
        };
        assert_eq!(attrs.get(IDENTIFIER), Some("u-2"));
        assert_eq!(attrs.get("EmailAddress"), Some("old@apple.example"));
        assert!(verified_lookups("u-2", &ud).1.is_none());
    }

    #[test]
    fn a_signed_email_finds_a_contact_without_identifier() {
        let ud = data(&[("EmailAddress", " OLD@apple.example ")]);
        assert_eq!(
            verified_lookups("old@apple.example", &ud).1,
            Some(Lookup::Email("old@apple.example".into()))
        );
        assert_eq!(
            match_verified(TENANT, "old@apple.example", &ud, &directory()),
            MatchOutcome::Matched(id("legacy"))
        );
    }

    #[test]
    fn a_contact_with_another_identifier_is_somebody_else() {
        let ud = data(&[("EmailAddress", "shared@apple.example")]);
        let outcome = match_verified(TENANT, "shared@apple.example", &ud, &directory());
        assert!(matches!(outcome, MatchOutcome::Create(_)), "{outcome:?}");
    }

    #[test]
    fn two_holders_of_one_identifier_are_ambiguous() {
        let mut all = directory();
        all.push(contact("twin", &[("Identifier", "u-1")]));
        all.push(contact("steve", &[("Identifier", "u-1")]));
        assert_eq!(
            match_verified(TENANT, "u-1", &UserData::new(), &all),
            MatchOutcome::Ambiguous(vec![id("steve"), id("twin")])
        );
    }

    #[test]
    fn other_tenants_and_case_do_not_match() {
        let mut elsewhere = directory();
        for c in &mut elsewhere {
            c.tenant = "other".into();
        }
        let outcome = match_verified(TENANT, "u-1", &UserData::new(), &elsewhere);
        assert!(matches!(outcome, MatchOutcome::Create(_)), "{outcome:?}");
        let outcome = match_verified(TENANT, "U-1", &UserData::new(), &directory());
        assert!(matches!(outcome, MatchOutcome::Create(_)), "{outcome:?}");
    }
}

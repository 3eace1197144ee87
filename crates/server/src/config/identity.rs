//! The declaration of `[identity.<tenant>]` (Parley's own: verified visitor identity,
//! docs/security.md) and its hand-written checks.

use serde::Deserialize;

use super::declare::{config_section, DeclaredSection};
use super::{Config, ConfigProblem, Secret};

/// Minimum length of an identity secret, in characters: 32 hex digits are 128 bits.
pub const MIN_IDENTITY_SECRET_CHARS: usize = 32;

config_section! {
    /// Parley's own: verified visitor identity, per tenant (the tenants of
    /// [endpoints.<tenant>]). The website signs the identifier of a logged-in visitor with
    /// the tenant's secret: userData Identifier plus IdentifierHash = hex HMAC-SHA256(secret,
    /// Identifier), or IdentityToken = an HS256 JWT {"sub": identifier, "exp": ...}. A
    /// verified visitor is matched to its contact by that identifier; an unverified one is
    /// matched to no contact, so claiming somebody's email address never shows their stored
    /// attributes or history. Agents see which is which. How to compute the hash:
    /// docs/security.md, "Verified visitor identity".
    ///
    /// Default: no section (identities are not checked, contacts are matched on what the
    /// visitor says, as Genesys does). An example:
    #[section("identity", key = "tenant", example_key = "1")]
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct IdentityConfig {
        /// off = not checked (Genesys behaviour); optional = chats of unverified visitors go on,
        /// matched to no contact and shown as unverified; required = a chat without a valid
        /// signature is refused with IDENTITY_NOT_VERIFIED (1015).
        #[option("mode", Choice("off", "optional", "required"), default = "off",
            example = "optional")]
        pub mode: IdentityMode,

        /// The signing key shared with the website, at least 32 characters (128 bits as hex).
        /// Required unless mode is off; never printed. Prefer
        /// PARLEY_IDENTITY__<TENANT>__SECRET to the file. Generate one with e.g. `openssl rand
        /// -hex 32`.
        #[option("secret", Secret, unset,
            example = "replace-with-openssl-rand-hex-32-output-0123456789")]
        pub secret: Option<Secret>,

        /// Accept the plain IdentifierHash, which never expires (a leaked hash vouches for its
        /// identifier until the secret changes). false accepts only IdentityToken.
        #[option("accept-hash", Bool, default = true)]
        pub accept_hash: bool,

        /// The longest an IdentityToken may still be valid for when it is presented, in seconds:
        /// a token whose exp is further away is refused, so the website cannot mint tokens that
        /// never end. Expired tokens are always refused.
        #[option("token-max-age", Int(60..=2_592_000, "seconds"), default = 86400)]
        pub token_max_age_s: u64,
    }
}

/// Whether a tenant checks its visitors' identities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityMode {
    /// Not checked.
    #[default]
    Off,
    /// Checked; unverified visitors chat unidentified.
    Optional,
    /// Checked; unverified visitors are refused.
    Required,
}

/// The problems of the `[identity.<tenant>]` tables.
pub(super) fn problems(config: &Config, p: &mut Vec<ConfigProblem>) {
    const SECTION: &str = <IdentityConfig as DeclaredSection>::SPEC.name;
    for (tenant, identity) in &config.identity {
        let section = format!("{SECTION}.{tenant}");
        identity.range_problems(&section, p);
        if !config.endpoints.contains_key(tenant) {
            let known: Vec<&str> = config.endpoints.keys().map(String::as_str).collect();
            p.push(ConfigProblem::new(
                SECTION,
                format!("{tenant:?}"),
                format!(
                    "names no tenant of [endpoints.<tenant>]; known tenants are {}",
                    known.join(", ")
                ),
            ));
        }
        // The secret is never repeated in a message.
        match &identity.secret {
            None if identity.mode != IdentityMode::Off => p.push(ConfigProblem::new(
                &section,
                "secret",
                format!(
                    "missing; it is required unless mode is \"off\" (the key websites sign \
                     identifiers with, at least {MIN_IDENTITY_SECRET_CHARS} characters)"
                ),
            )),
            Some(secret) if secret.expose().chars().count() < MIN_IDENTITY_SECRET_CHARS => {
                p.push(ConfigProblem::new(
                    &section,
                    "secret",
                    format!(
                        "has {} characters; it needs at least {MIN_IDENTITY_SECRET_CHARS}",
                        secret.expose().chars().count()
                    ),
                ));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::CliOverrides;
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn load(env: &[(&str, &str)]) -> Result<Config, super::super::ConfigError> {
        let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        Config::load(None, env, &CliOverrides::default())
    }

    #[test]
    fn env_sets_a_tenant_and_the_secret_is_never_shown() {
        let c = load(&[
            ("PARLEY_IDENTITY__1__MODE", "required"),
            ("PARLEY_IDENTITY__1__SECRET", KEY),
            ("PARLEY_IDENTITY__1__TOKEN_MAX_AGE", "600"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let i = c.identity_for("1").expect("tenant 1 checks");
        assert_eq!(i.mode, IdentityMode::Required);
        assert_eq!(i.secret, Some(Secret::new(KEY)));
        assert_eq!((i.token_max_age_s, i.accept_hash), (600, true));
        assert!(c.identity_for("2").is_none());
        assert!(!format!("{c:?}").contains(KEY), "Debug redacts the secret");

        let off = load(&[("PARLEY_IDENTITY__1__MODE", "off")]).expect("off needs no secret");
        assert!(off.identity_for("1").is_none(), "off is not checking");

        let short = load(&[
            ("PARLEY_IDENTITY__1__MODE", "optional"),
            ("PARLEY_IDENTITY__1__SECRET", "short-secret-value"),
        ])
        .expect_err("too short");
        let text = short.to_string();
        assert!(text.contains("needs at least 32"), "{text}");
        assert!(!text.contains("short-secret-value"), "{text}");
    }
}

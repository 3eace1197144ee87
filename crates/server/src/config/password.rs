//! Agent passwords as argon2 PHC strings: what `[agents.<login>] password-hash` holds and
//! `parley hash-password` prints. Argon2 is the project's password hash.

use argon2::password_hash::errors::InvalidValue;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Error, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, Params};

/// The argon2id PHC string of `password` (`$argon2id$v=19$m=...,t=...,p=...$<salt>$<hash>`)
/// with argon2's default parameters and a fresh salt from the OS CSPRNG.
pub fn hash_password(password: &str) -> Result<String, Error> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default().hash_password(password.as_bytes(), &salt)?;
    Ok(hash.to_string())
}

/// The PHC prefixes of the argon2 variants.
const PREFIXES: [&str; 3] = ["$argon2id$", "$argon2i$", "$argon2d$"];

/// `Ok` if `phc` is an argon2 PHC string with a salt, a hash and usable parameters;
/// otherwise what is wrong. The message never repeats the string.
pub(super) fn check_phc(phc: &str) -> Result<(), String> {
    const HINT: &str = "`parley hash-password` prints one";
    if !PREFIXES.iter().any(|p| phc.starts_with(p)) {
        return Err(format!(
            "must be an argon2 PHC string starting with $argon2id$ (the hash, never the \
             password itself); {HINT}"
        ));
    }
    let hash = PasswordHash::new(phc).map_err(|e| {
        format!(
            "is not a valid argon2 PHC string ({}); {HINT}",
            describe(&e)
        )
    })?;
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err(format!(
            "is not a complete argon2 PHC string (it needs a salt and a hash); {HINT}"
        ));
    }
    Params::try_from(&hash)
        .map_err(|e| format!("has invalid argon2 parameters ({}); {HINT}", describe(&e)))?;
    Ok(())
}

/// The error's message, without the offending character that `InvalidChar` would quote.
fn describe(e: &Error) -> String {
    const CHAR: &str = "contains a character that is not allowed";
    match e {
        Error::SaltInvalid(InvalidValue::InvalidChar(_)) => format!("salt invalid: {CHAR}"),
        Error::ParamValueInvalid(InvalidValue::InvalidChar(_)) => {
            format!("invalid parameter value: {CHAR}")
        }
        e => e.to_string(),
    }
}

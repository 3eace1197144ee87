//! The wall clock, read in one place. The core never reads a clock: the shell passes
//! `now` into every input, and this is where the shell gets it.

use parley_core::UnixMillis;

/// The current time as the core sees it (milliseconds since the Unix epoch).
pub fn now() -> UnixMillis {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    UnixMillis(i64::try_from(ms).unwrap_or(i64::MAX))
}

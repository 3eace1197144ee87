//! The file-descriptor limit. Tens of thousands of connections need more than the usual
//! soft limit; as root we may raise the hard limit too (up to `fs.nr_open`). Done through
//! the `rlimit` crate, since the workspace forbids `unsafe`.

use rlimit::Resource;

/// Raises `RLIMIT_NOFILE` towards `want` (soft and, when allowed, hard); returns the soft
/// limit in force afterwards.
pub fn raise_nofile(want: u64) -> anyhow::Result<u64> {
    let (soft, hard) = Resource::NOFILE.get()?;
    if soft >= want {
        return Ok(soft);
    }
    if hard < want {
        // Raising the hard limit needs CAP_SYS_RESOURCE; without it, settle for `hard`.
        let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(hard);
        let target = want.min(nr_open);
        if Resource::NOFILE.set(target, target).is_ok() {
            return Ok(target);
        }
    }
    Ok(rlimit::increase_nofile_limit(want)?)
}

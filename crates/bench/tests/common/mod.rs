//! Shared by the bench crate's integration tests: the `parley` server binary, built so
//! it is never stale. `CARGO_BIN_EXE_*` only reaches binaries of this package; a nested
//! cargo on the same target directory works, as the outer one holds no lock while tests
//! run. `PARLEY_BENCH_SERVER_BIN` points at another binary instead.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// `target/<profile>` of this test executable (`target/<profile>/deps/smoke-…`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps")
        .to_path_buf()
}

/// The `parley` server binary, built (once per test process) so it is never stale.
pub(crate) fn server_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(build_server).clone()
}

fn build_server() -> PathBuf {
    if let Ok(p) = std::env::var("PARLEY_BENCH_SERVER_BIN") {
        return PathBuf::from(p);
    }
    let dir = profile_dir();
    let bin = dir.join(format!("parley{}", std::env::consts::EXE_SUFFIX));
    {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let target_dir = dir.parent().expect("target dir");
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.current_dir(&workspace)
            .args([
                "build",
                "-p",
                "parley-server",
                "--bin",
                "parley",
                "--target-dir",
            ])
            .arg(target_dir);
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build");
        assert!(status.success(), "building the parley server failed");
    }
    assert!(bin.exists(), "no server binary at {}", bin.display());
    bin
}

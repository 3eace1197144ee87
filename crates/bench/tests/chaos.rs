//! The chaos harness, short: three real server processes on a fresh PostgreSQL database,
//! GMS, flex and basic customers with basic agents, five SIGKILLs with restarts; no
//! acknowledged message may be lost or doubled, no chat stranded, no instance panic.
//! Needs `PARLEY_TEST_POSTGRES_URL`; without it the test says so and does nothing.

mod common;

use std::process::Command;

use serde_json::Value;

#[test]
fn five_kills_lose_double_and_strand_nothing() {
    let Ok(url) = std::env::var("PARLEY_TEST_POSTGRES_URL") else {
        eprintln!(
            "SKIPPED chaos: PARLEY_TEST_POSTGRES_URL unset (the chaos harness needs PostgreSQL)"
        );
        return;
    };
    let json = std::env::temp_dir().join(format!("parley-chaos-test-{}.json", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_parley-bench"))
        .arg("chaos")
        .args(["--postgres", &url, "--server-bin"])
        .arg(common::server_bin())
        .args([
            "--chats",
            "6",
            "--kills",
            "5",
            "--kill-every",
            "3",
            "--restart-after",
            "0.5",
        ])
        .args(["--lease", "3", "--interval-ms", "500", "--json"])
        .arg(&json)
        .output()
        .expect("run parley-bench chaos");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_default())
        .unwrap_or_else(|e| panic!("no report ({e}):\n{stdout}\n{stderr}"));
    let _ = std::fs::remove_file(&json);
    let m = &report["messages"];
    assert_eq!(report["kills"], 5, "{stdout}");
    assert_eq!(m["lost"], 0, "{stdout}");
    assert_eq!(m["duplicated"], 0, "{stdout}");
    assert_eq!(report["stranded"], 0, "{stdout}");
    assert!(
        report["panics"].as_array().is_some_and(Vec::is_empty),
        "{stdout}"
    );
    assert!(m["acked"].as_u64().unwrap_or(0) > 0, "{stdout}");
    assert!(
        out.status.success(),
        "exit {}: {stdout}\n{stderr}",
        out.status
    );
}

//! A few seconds of real load against the real server binary, so the generator cannot
//! rot: every protocol's script runs end to end, and nothing may be lost, duplicated or
//! misrouted. The server binary is the workspace's `target/<profile>/parley`, brought up
//! to date with `cargo build` first (`CARGO_BIN_EXE_*` only reaches binaries of this
//! package; a nested cargo on the same target directory works, as the outer one holds no
//! lock while tests run). `PARLEY_BENCH_SERVER_BIN` points at another binary instead.

mod common;

use std::process::Command;

use common::server_bin;

use serde_json::Value;

/// Runs parley-bench with `args` against a server it starts; returns the JSON report.
fn bench(name: &str, args: &[&str]) -> Value {
    let json = std::env::temp_dir().join(format!(
        "parley-bench-smoke-{}-{name}.json",
        std::process::id()
    ));
    let out = Command::new(env!("CARGO_BIN_EXE_parley-bench"))
        .arg("--server-bin")
        .arg(server_bin())
        .args(["--no-progress", "--json"])
        .arg(&json)
        .args(args)
        .output()
        .expect("run parley-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "parley-bench failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("report written"))
            .expect("report is JSON");
    let _ = std::fs::remove_file(&json);
    report
}

#[track_caller]
fn assert_clean(r: &Value, parties: u64) {
    let m = &r["messages"];
    let n = |v: &Value| v.as_u64().unwrap_or(u64::MAX);
    assert_eq!(n(&m["lost"]), 0, "lost: {m}");
    assert_eq!(n(&m["duplicated"]), 0, "duplicated: {m}");
    assert_eq!(n(&m["misrouted"]), 0, "misrouted: {m}");
    assert!(n(&m["delivered"]) > 0, "nothing delivered: {m}");
    assert_eq!(
        n(&m["delivered"]),
        n(&m["acked"]) * (parties - 1),
        "every acked message reached every other party: {m}"
    );
    assert_eq!(n(&r["sessions"]["failed"]), 0, "{}", r["sessions"]);
    assert!(
        r["errors"].as_object().is_some_and(|e| e.is_empty()),
        "{}",
        r["errors"]
    );
    assert!(r["ok"].as_bool().unwrap_or(false));
    assert!(
        r["server"]["rss_window_end_mib"].as_f64().unwrap_or(0.0) > 0.0,
        "RSS read from /proc"
    );
    assert!(r["latency"]["delivery"]["count"].as_u64().unwrap_or(0) > 0);
}

#[test]
fn basic_chats_with_a_supervisor_and_churn_lose_and_repeat_nothing() {
    let r = bench(
        "basic",
        &[
            "--sessions",
            "5",
            "--rate",
            "40",
            "--duration",
            "2",
            "--ramp-up",
            "1",
            "--supervisor",
            "--churn",
            "2",
        ],
    );
    assert_clean(&r, 3);
    assert!(
        r["sessions"]["closed"].as_u64().unwrap_or(0) >= 5,
        "{}",
        r["sessions"]
    );
}

#[test]
fn flex_and_gms_customers_lose_and_repeat_nothing() {
    for protocol in ["flex", "gms"] {
        let r = bench(
            protocol,
            &[
                "--protocol",
                protocol,
                "--sessions",
                "3",
                "--rate",
                "20",
                "--duration",
                "2",
                "--ramp-up",
                "0.5",
                "--auto-save",
                "0",
                "--gms-poll-ms",
                "100",
            ],
        );
        assert_clean(&r, 2);
    }
}

#[test]
fn a_target_off_this_machine_is_refused_before_any_traffic() {
    let out = Command::new(env!("CARGO_BIN_EXE_parley-bench"))
        .args(["--target", "10.1.2.3:8080", "--no-progress"])
        .output()
        .expect("run parley-bench");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("only loads loopback"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `--flooders`: one abusive customer next to the measured chats. The chats still lose
/// and repeat nothing, and the flooder really floods (and is throttled by the server's
/// per-customer limits, which the bench keeps for this run).
#[test]
fn a_flooder_next_to_the_chats_is_throttled_and_costs_them_nothing() {
    let r = bench(
        "flood",
        &[
            "--sessions",
            "3",
            "--rate",
            "6",
            "--duration",
            "3",
            "--ramp-up",
            "1",
            "--flooders",
            "1",
        ],
    );
    assert_clean(&r, 2);
    assert!(
        r["flood"]["frames_sent"].as_u64().unwrap_or(0) > 10,
        "the flooder sent: {}",
        r["flood"]
    );
    assert!(r["flood"]["chats_opened"].as_u64().unwrap_or(0) >= 1);
    assert!(
        r["server"]["counters"]["rate-limited"]
            .as_u64()
            .unwrap_or(0)
            > 0,
        "the server refused some of it: {}",
        r["server"]["counters"]
    );
}

//! The `parley` command line besides `serve`: `hash-password`.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;

fn hash_password(stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_parley"))
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn parley hash-password");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

#[test]
fn hash_password_prints_an_argon2id_hash_of_the_first_line() {
    for input in [
        &b"s3cret pass\n"[..],
        b"s3cret pass\r\n",
        b"s3cret pass",
        b"s3cret pass\nignored\n",
    ] {
        let out = hash_password(input);
        assert!(out.status.success(), "{out:?}");
        let stdout = String::from_utf8(out.stdout).expect("utf-8");
        let phc = stdout.trim_end();
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        let parsed = PasswordHash::new(phc).expect("a PHC string");
        assert!(Argon2::default()
            .verify_password(b"s3cret pass", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"s3cret pass\n", &parsed)
            .is_err());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("s3cret"), "{stderr}");
    }
    // The hash is accepted as `password-hash`.
    let out = hash_password(b"pw\n");
    let phc = String::from_utf8(out.stdout).expect("utf-8");
    let toml = format!("[agents.anna]\npassword-hash = \"{}\"\n", phc.trim_end());
    parley_server::config::Config::from_toml_str(&toml).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn hash_password_refuses_an_empty_password() {
    for input in [&b""[..], b"\n"] {
        let out = hash_password(input);
        assert!(!out.status.success(), "{out:?}");
        assert!(out.stdout.is_empty(), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("no password given"), "{stderr}");
    }
}

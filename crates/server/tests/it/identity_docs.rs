//! Keeps docs/security.md's "Computing it on the website" honest: each example block
//! (marked `<!-- identity-example: python -->` or `node`) is run as it stands, with the
//! interpreter a website would use, and what it prints must start chats against a server
//! that requires verified identities. A missing interpreter is reported as skipped.

use std::path::PathBuf;
use std::process::Command;

use parley_server::config::IdentityMode;

use crate::common::TestServer;
use crate::identity::{configure, recorded_user_data, sign, Door, SECRET};

/// Non-ASCII on purpose: the hash is over the UTF-8 bytes.
const IDENTIFIER: &str = "jürgen.müller@example.de";

/// The code block that follows `<!-- identity-example: {lang} -->`.
fn example(lang: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/security.md");
    let doc = std::fs::read_to_string(&path).expect("docs/security.md");
    let marker = format!("<!-- identity-example: {lang} -->");
    let start = doc
        .find(&marker)
        .unwrap_or_else(|| panic!("docs/security.md has no {marker}"));
    let rest = &doc[start + marker.len()..];
    let fence = rest.find("```").expect("a code block after the marker");
    let body = &rest[fence..];
    let first_line = body.find('\n').expect("fence line") + 1;
    let end = body[first_line..].find("```").expect("closing fence");
    body[first_line..first_line + end].to_owned()
}

/// Runs `program` with `args` (the last one the example plus a driver printing the hash
/// and the token, one per line); `None` when the interpreter is not installed.
fn run(program: &str, args: &[&str]) -> Option<(String, String)> {
    let out = match Command::new(program)
        .args(args)
        .env("PARLEY_SECRET", SECRET)
        .env("PARLEY_IDENTIFIER", IDENTIFIER)
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("skipped: {program} is not installed, its docs example was not run");
            return None;
        }
        Err(e) => panic!("running {program}: {e}"),
    };
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = stdout.lines();
    let hash = lines.next().expect("a hash line").trim().to_owned();
    let token = lines.next().expect("a token line").trim().to_owned();
    Some((hash, token))
}

async fn check(server: &TestServer, lang: &str, printed: Option<(String, String)>) {
    let Some((hash, token)) = printed else { return };
    assert_eq!(hash, sign(IDENTIFIER), "{lang}: the hash Parley computes");
    for proof in [
        vec![
            ("Identifier", IDENTIFIER),
            ("IdentifierHash", hash.as_str()),
        ],
        vec![("IdentityToken", token.as_str())],
    ] {
        for door in [Door::Basic, Door::Gms] {
            let chat = door
                .start(server, &proof)
                .await
                .unwrap_or_else(|code| panic!("{lang} {door:?}: refused with {code}"));
            let got = recorded_user_data(server, &chat.chat_id).await;
            assert_eq!(got["ParleyIdentityVerified"], "true", "{lang}: {got}");
            assert_eq!(got["Identifier"], IDENTIFIER, "{lang}: {got}");
        }
    }
}

#[tokio::test]
async fn the_documented_python_and_node_examples_verify() {
    let server = TestServer::start(|c| configure(c, IdentityMode::Required)).await;
    let python = format!(
        "{}\nimport os\nprint(identifier_hash(os.environ['PARLEY_SECRET'], \
         os.environ['PARLEY_IDENTIFIER']))\nprint(identity_token(os.environ['PARLEY_SECRET'], \
         os.environ['PARLEY_IDENTIFIER']))\n",
        example("python")
    );
    check(&server, "python", run("python3", &["-c", &python])).await;
    let node = format!(
        "{}\nconsole.log(identifierHash(process.env.PARLEY_SECRET, \
         process.env.PARLEY_IDENTIFIER));\nconsole.log(identityToken(process.env.PARLEY_SECRET, \
         process.env.PARLEY_IDENTIFIER));\n",
        example("node")
    );
    check(&server, "node", run("node", &["-e", &node])).await;
    server.stop().await;
}

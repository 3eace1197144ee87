//! HTTPS and WSS on the default listener, the certificate reloaded on SIGHUP of a real
//! process while a WebSocket stays open, a failed reload that keeps the old certificate,
//! the handshake under the connection deadlines, and certificate errors at startup.

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::{
    customer_with_chat, failed_start, https_get, say, tls_connect, tls_section, InProcess,
    TestCert, TlsProcess, Wss,
};

#[tokio::test]
async fn sighup_reloads_the_certificate_and_keeps_open_websockets() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (TestCert::new(), TestCert::new());
    let (cert, key) = old.write(dir.path(), "server");
    let mut server = TlsProcess::start(&tls_section(&cert, &key), dir.path(), &old, 0).await;

    // HTTPS answers; plain HTTP on the same port does not.
    let (status, body) = https_get(server.addr, &old, "/healthz").await;
    assert_eq!(status, 200, "{body}");
    assert!(reqwest::get(format!("http://{}/healthz", server.addr))
        .await
        .is_err());
    let (_, shown) = tls_connect(server.addr, &[&old, &new]).await;
    assert_eq!(shown, old.der);

    // A chat over WSS.
    let mut ws = Wss::connect(server.addr, &[&old, &new]).await;
    let chat = customer_with_chat(&mut ws).await;
    say(&mut ws, &chat, "before the reload").await;

    // New files, SIGHUP: new connections see the new certificate, the WebSocket stays.
    new.write(dir.path(), "server");
    server.hangup();
    server.wait_for_lines("TLS certificate reloaded", 1).await;
    let (_, shown) = tls_connect(server.addr, &[&old, &new]).await;
    assert_eq!(
        shown, new.der,
        "a new connection still gets the old certificate"
    );
    let (status, _) = https_get(server.addr, &new, "/healthz").await;
    assert_eq!(status, 200);
    say(&mut ws, &chat, "after the reload").await;

    // A broken file: the reload fails, the new certificate stays in use.
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();
    server.hangup();
    server
        .wait_for_lines("TLS certificate not reloaded", 1)
        .await;
    let (_, shown) = tls_connect(server.addr, &[&old, &new]).await;
    assert_eq!(shown, new.der);
    // A key that does not match the certificate: refused too.
    new.write(dir.path(), "server");
    std::fs::write(&key, &old.key_pem).unwrap();
    server.hangup();
    server
        .wait_for_lines("TLS certificate not reloaded", 2)
        .await;
    let (_, shown) = tls_connect(server.addr, &[&old, &new]).await;
    assert_eq!(shown, new.der);
    say(&mut ws, &chat, "after the failed reloads").await;

    assert!(server.running(), "SIGHUP ended the process");
    let out = server.output();
    assert!(out.contains(&cert.display().to_string()), "{out}");
    assert!(!out.contains("PRIVATE KEY"), "a key in the log:\n{out}");
    assert!(server.terminate().success(), "{}", server.output());
}

#[tokio::test]
async fn a_tls_handshake_that_never_finishes_is_timed_out() {
    let dir = tempfile::tempdir().unwrap();
    let cert = TestCert::new();
    let (cert_file, key_file) = cert.write(dir.path(), "server");
    let server = InProcess::start(&cert, |c| {
        c.settings.user_register_timeout_s = 1;
        c.tls.cert_file = Some(cert_file);
        c.tls.key_file = Some(key_file);
    })
    .await;
    // Connected, half a ClientHello, then silence.
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut tcp, &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let closed = loop {
        match tokio::time::timeout(crate::common::WAIT * 2, tcp.read(&mut buf)).await {
            Err(_) => break false,
            Ok(Ok(0) | Err(_)) => break true,
            Ok(Ok(_)) => {}
        }
    };
    assert!(closed, "an unfinished handshake keeps its connection");
    let (status, counters) = https_get(server.addr, &cert, "/counters").await;
    assert_eq!(status, 200);
    assert!(
        counters["connections-timed-out"].as_u64() >= Some(1),
        "{counters}"
    );
    server.stop().await;
}

#[test]
fn unreadable_or_broken_certificates_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let cert = TestCert::new();
    let (cert_file, key_file) = cert.write(dir.path(), "server");
    let missing = dir.path().join("missing.crt");

    let err = failed_start(&tls_section(&missing, &key_file), dir.path());
    assert!(
        err.contains("cannot read the TLS certificate file"),
        "{err}"
    );
    assert!(err.contains(&missing.display().to_string()), "{err}");

    let junk = dir.path().join("junk.key");
    std::fs::write(&junk, "hello").unwrap();
    let err = failed_start(&tls_section(&cert_file, &junk), dir.path());
    assert!(err.contains("holds no valid PEM private key"), "{err}");
    assert!(err.contains(&junk.display().to_string()), "{err}");

    let other = TestCert::new();
    let (_, other_key) = other.write(dir.path(), "other");
    let err = failed_start(&tls_section(&cert_file, &other_key), dir.path());
    assert!(err.contains("does not go with the certificate"), "{err}");

    let err = failed_start(
        &format!("[tls]\ncert-file = {:?}\n", cert_file.display().to_string()),
        dir.path(),
    );
    assert!(err.contains("[tls] key-file: missing"), "{err}");
}

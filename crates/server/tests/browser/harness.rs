//! What the browser tests stand on: Parley in-process on 127.0.0.1:0, an agent speaking
//! the basic protocol, and headless Chromium driven over WebDriver (chromedriver started
//! on a free port, ended by its own handle).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use futures::stream::{SplitSink, StreamExt};
use futures::SinkExt;
use parley_proto::basic::{ServerFrame, WireEvent};
use parley_server::config::{Config, Secret};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The API key test agents register with.
pub const API_KEY: &str = "test-api-key-0123456789abcdef0123456789";

/// How long any one wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(15);

/// The workspace root (for `web/` and `test-output/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

// -------------------------------------------------------------------------------------
// Parley in-process

/// A Parley server running inside the test process.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    dir: tempfile::TempDir,
    /// What it runs with (a restart keeps it).
    config: Config,
}

/// The default test configuration: data in `dir`, a known API key, a short shutdown.
pub fn test_config(dir: &Path) -> Config {
    let mut config = Config::default();
    config.server.data_dir = dir.to_path_buf();
    config.security.api_keys = vec![Secret::new(API_KEY)];
    config.settings.shutdown_timeout_s = 5;
    config
}

impl TestServer {
    /// Starts Parley with a test configuration (temp data dir, a known API key).
    pub async fn start() -> TestServer {
        TestServer::start_with(test_config).await
    }

    /// Starts Parley with the configuration `make` gives for a fresh data directory.
    pub async fn start_with(make: impl FnOnce(&Path) -> Config) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let config = make(dir.path());
        TestServer::run(dir, listener, config).await
    }

    async fn run(
        dir: tempfile::TempDir,
        listener: tokio::net::TcpListener,
        config: Config,
    ) -> TestServer {
        config.validate().expect("test config is valid");
        let addr = listener.local_addr().expect("addr");
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(parley_server::run(config.clone(), listener, async move {
            let _ = rx.await;
        }));
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(r) = reqwest::get(format!("http://{addr}/readyz")).await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "Parley never became ready");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        TestServer {
            addr,
            stop: Some(stop),
            task: Some(task),
            dir,
            config,
        }
    }

    async fn shut_down(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let ran = tokio::time::timeout(WAIT, t)
                .await
                .expect("Parley did not stop in time");
            ran.expect("server task").expect("Parley ran cleanly");
        }
    }

    /// Graceful shutdown.
    pub async fn stop(mut self) {
        self.shut_down().await;
    }

    /// Stops gracefully (sessions stay in the store) and starts again on the same
    /// address and data directory, as an operator's restart would.
    pub async fn restart(mut self) -> TestServer {
        self.shut_down().await;
        let addr = self.addr;
        let deadline = Instant::now() + WAIT;
        let listener = loop {
            match tokio::net::TcpListener::bind(addr).await {
                Ok(l) => break l,
                Err(e) => {
                    assert!(Instant::now() < deadline, "cannot bind {addr} again: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
        let config = self.config.clone();
        TestServer::run(dir, listener, config).await
    }
}

// -------------------------------------------------------------------------------------
// An agent over the basic protocol

/// An agent (or bot) connection. A reader task keeps the socket answered (pings) while
/// the test drives the browser; frames wait in a channel.
pub struct Agent {
    sink: SplitSink<WebSocketStream<MaybeTlsStream<TcpStream>>, Message>,
    rx: mpsc::UnboundedReceiver<ServerFrame>,
    backlog: Vec<ServerFrame>,
    next_id: u64,
    pub user_id: String,
    pub secure_key: String,
    /// Every transcript event this agent has seen (join replay and live), by id.
    pub seen: std::collections::BTreeMap<u64, WireEvent>,
}

impl Agent {
    /// Connects and registers as an AGENT.
    pub async fn connect(addr: SocketAddr, nickname: &str) -> Agent {
        Agent::register(addr, nickname, None).await
    }

    /// Connects again as the same agent (after a server restart) and resumes `session`
    /// from the last event it saw, keeping what it saw before.
    pub async fn reconnect(self, addr: SocketAddr, nickname: &str, session: &str) -> Agent {
        let identity = json!({"userId": self.user_id, "secureKey": self.secure_key});
        let mut agent = Agent::register(addr, nickname, Some(identity)).await;
        assert_eq!(agent.user_id, self.user_id, "the same identity");
        agent.seen = self.seen;
        let last = agent.seen.keys().next_back().copied().unwrap_or(0);
        match agent
            .call(json!({"type": "resume", "sessionId": session, "lastEventId": last}))
            .await
        {
            ServerFrame::SessionInfo { .. } => agent,
            other => panic!("resume failed: {other:?}"),
        }
    }

    async fn register(addr: SocketAddr, nickname: &str, resume: Option<Value>) -> Agent {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/basic"))
            .await
            .expect("websocket connect");
        let (sink, mut stream) = ws.split();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                if let Message::Text(t) = msg {
                    match serde_json::from_str::<ServerFrame>(&t) {
                        Ok(f) => {
                            if tx.send(f).is_err() {
                                break;
                            }
                        }
                        Err(e) => panic!("bad frame {t}: {e}"),
                    }
                }
            }
        });
        let mut agent = Agent {
            sink,
            rx,
            backlog: Vec::new(),
            next_id: 1,
            user_id: String::new(),
            secure_key: String::new(),
            seen: Default::default(),
        };
        let mut register = json!({"type": "register", "nickname": nickname, "partyType": "AGENT",
            "clientVersion": 106, "credentials": {"apiKey": API_KEY}});
        if let Some(r) = resume {
            register["resume"] = r;
        }
        let reply = agent.call(register).await;
        match reply {
            ServerFrame::Registered {
                user_id,
                secure_key,
                ..
            } => {
                agent.user_id = user_id;
                agent.secure_key = secure_key;
            }
            other => panic!("register failed: {other:?}"),
        }
        agent
    }

    fn note(&mut self, f: &ServerFrame) {
        match f {
            ServerFrame::Event { event, .. } => {
                self.seen.insert(event.event_id, (**event).clone());
            }
            ServerFrame::SessionInfo { events, .. } => {
                for e in events {
                    self.seen.insert(e.event_id, e.clone());
                }
            }
            _ => {}
        }
    }

    async fn read(&mut self, deadline: Instant, what: &str) -> ServerFrame {
        match tokio::time::timeout_at(deadline, self.rx.recv()).await {
            Ok(Some(f)) => {
                self.note(&f);
                f
            }
            Ok(None) => panic!("agent connection closed while waiting for {what}"),
            Err(_) => panic!("timed out waiting for {what}"),
        }
    }

    /// Waits for the first frame matching `pred`, keeping the others.
    pub async fn recv_where(
        &mut self,
        what: &str,
        pred: impl Fn(&ServerFrame) -> bool,
    ) -> ServerFrame {
        if let Some(i) = self.backlog.iter().position(&pred) {
            return self.backlog.remove(i);
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let f = self.read(deadline, what).await;
            if pred(&f) {
                return f;
            }
            self.backlog.push(f);
        }
    }

    /// Waits for a live event matching `pred`.
    pub async fn event_where(
        &mut self,
        what: &str,
        pred: impl Fn(&WireEvent) -> bool,
    ) -> WireEvent {
        match self
            .recv_where(
                what,
                |f| matches!(f, ServerFrame::Event { event, .. } if pred(event)),
            )
            .await
        {
            ServerFrame::Event { event, .. } => *event,
            _ => unreachable!(),
        }
    }

    /// Takes every frame that has arrived so far into the record.
    pub async fn drain(&mut self) {
        while let Ok(f) = self.rx.try_recv() {
            self.note(&f);
            self.backlog.push(f);
        }
    }

    /// Sends a frame with a fresh request id and waits for its reply.
    pub async fn call(&mut self, mut frame: Value) -> ServerFrame {
        let id = self.next_id;
        self.next_id += 1;
        frame["requestId"] = json!(id);
        self.sink
            .send(Message::Text(frame.to_string().into()))
            .await
            .expect("send");
        self.recv_where(&format!("the reply to {frame}"), |f| {
            request_id(f) == Some(id)
        })
        .await
    }

    /// Joins a session; returns its id's `sessionInfo` events.
    pub async fn join(&mut self, session: &str, user_data: Value) -> Vec<WireEvent> {
        match self
            .call(json!({"type": "join", "sessionId": session, "userData": user_data}))
            .await
        {
            ServerFrame::SessionInfo { events, .. } => events,
            other => panic!("join failed: {other:?}"),
        }
    }

    /// Sends a message; returns its event id.
    pub async fn say(&mut self, session: &str, text: &str) -> u64 {
        ack(self
            .call(json!({"type": "message", "sessionId": session, "text": text}))
            .await)
    }

    /// Sends a notice; returns its event id.
    pub async fn notify(
        &mut self,
        session: &str,
        notice_type: &str,
        text: &str,
        user_data: Value,
    ) -> u64 {
        ack(self
            .call(
                json!({"type": "notify", "sessionId": session, "noticeType": notice_type,
                "text": text, "userData": user_data}),
            )
            .await)
    }
}

fn ack(f: ServerFrame) -> u64 {
    match f {
        ServerFrame::Ack { event_id, .. } => event_id,
        other => panic!("not acked: {other:?}"),
    }
}

/// The request id a frame answers, if any.
pub fn request_id(f: &ServerFrame) -> Option<u64> {
    match f {
        ServerFrame::Registered { request_id, .. }
        | ServerFrame::SessionInfo { request_id, .. }
        | ServerFrame::Ack { request_id, .. }
        | ServerFrame::Released { request_id, .. }
        | ServerFrame::Error { request_id, .. } => *request_id,
        _ => None,
    }
}

// -------------------------------------------------------------------------------------
// Headless Chromium over WebDriver

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The Chromium binary and chromedriver, or `None` when either is missing.
/// `PARLEY_CHROMIUM` / `PARLEY_CHROMEDRIVER`, when set, name the binaries to use (and
/// a missing one counts as not installed).
pub fn find_chromium() -> Option<(PathBuf, PathBuf)> {
    fn explicit(var: &str) -> Option<Option<PathBuf>> {
        std::env::var_os(var).map(|v| Some(PathBuf::from(v)).filter(|p| p.is_file()))
    }
    let browser = match explicit("PARLEY_CHROMIUM") {
        Some(p) => p?,
        // Debian's /usr/bin/chromium is a wrapper script; the real binary is beside it.
        None => ["/usr/lib/chromium/chromium", "/usr/bin/chromium"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .or_else(|| on_path("chromium"))
            .or_else(|| on_path("chromium-browser"))?,
    };
    let driver = match explicit("PARLEY_CHROMEDRIVER") {
        Some(p) => p?,
        None => on_path("chromedriver")
            .or_else(|| Some(PathBuf::from("/usr/bin/chromedriver")).filter(|p| p.is_file()))?,
    };
    Some((browser, driver))
}

/// A chromedriver process and a WebDriver session in a fresh profile. Dropping it kills
/// chromedriver by its own handle (never by name).
pub struct Browser {
    pub client: Client,
    /// chromedriver's base URL.
    pub driver_url: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start(browser: &Path, driver: &Path, width: u32, height: u32) -> Browser {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            l.local_addr().expect("addr").port()
        };
        let mut child = Command::new(driver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let status = format!("http://127.0.0.1:{port}/status");
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(r) = reqwest::get(&status).await {
                if r.status().is_success() {
                    break;
                }
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromedriver did not start on port {port}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            json!({"binary": browser.to_string_lossy(), "args": args,
                "prefs": {"download.default_directory": profile.path().join("downloads").to_string_lossy(),
                          "download.prompt_for_download": false}}),
        );
        let connected = tokio::time::timeout(
            WAIT,
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps)
                .connect(&format!("http://127.0.0.1:{port}")),
        )
        .await;
        let client = match connected {
            Ok(Ok(c)) => c,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no WebDriver session: {other:?}");
            }
        };
        Browser {
            client,
            driver_url: format!("http://127.0.0.1:{port}"),
            driver: child,
            _profile: profile,
        }
    }

    /// Ends the WebDriver session (Chromium exits), then chromedriver.
    pub async fn quit(mut self) {
        let client = self.client.clone();
        let _ = tokio::time::timeout(WAIT, client.close()).await;
        self.kill_driver();
    }

    fn kill_driver(&mut self) {
        if let Ok(None) = self.driver.try_wait() {
            let _ = self.driver.kill();
            let _ = self.driver.wait();
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.kill_driver();
    }
}

/// DOM helpers over a WebDriver client; every wait is bounded.
#[derive(Clone)]
pub struct Page {
    pub c: Client,
    /// chromedriver's base URL, for its Chrome DevTools Protocol endpoint.
    pub driver_url: String,
}

impl Page {
    /// Runs a Chrome DevTools Protocol command through chromedriver.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let session = self
            .c
            .session_id()
            .await
            .expect("session id")
            .expect("a session");
        let resp = reqwest::Client::new()
            .post(format!(
                "{}/session/{session}/goog/cdp/execute",
                self.driver_url
            ))
            .json(&json!({"cmd": cmd, "params": params}))
            .send()
            .await
            .expect("cdp request");
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{cmd} failed: {body}");
        body
    }

    /// Emulates a phone-sized screen (desktop windows have a minimum width).
    pub async fn emulate_phone(&self, width: u32, height: u32) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 2, "mobile": true}),
        )
        .await;
    }

    /// Runs `body` as a function body (use `return`), with `arguments`.
    pub async fn js(&self, body: &str, args: Vec<Value>) -> Value {
        self.c
            .execute(body, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{body}"))
    }

    /// Runs an async script: `body` gets a callback as its last argument.
    pub async fn js_async(&self, body: &str, args: Vec<Value>) -> Value {
        tokio::time::timeout(WAIT, self.c.execute_async(body, args))
            .await
            .unwrap_or_else(|_| panic!("async script timed out\n{body}"))
            .unwrap_or_else(|e| panic!("async script failed: {e}\n{body}"))
    }

    /// Polls `body` until it returns something other than null/false/0/"", which it
    /// returns. Fails with `what` and the page's last state after [`WAIT`].
    pub async fn until(&self, what: &str, body: &str, args: Vec<Value>) -> Value {
        self.until_or_dump(what, body, args, "the widget", DUMP)
            .await
    }

    /// [`Page::until`], failing with `label` and what the `dump` script returns.
    pub async fn until_or_dump(
        &self,
        what: &str,
        body: &str,
        args: Vec<Value>,
        label: &str,
        dump: &str,
    ) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let v = self.js(body, args.clone()).await;
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return v;
            }
            if Instant::now() >= deadline {
                let dump = self.js(dump, vec![]).await;
                panic!("timed out waiting for {what}; {label}:\n{dump:#}");
            }
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// The widget's own view of its state (`window.__parleyTest.state()`).
    pub async fn state(&self) -> Value {
        self.js(
            "return window.__parleyTest && window.__parleyTest.state();",
            vec![],
        )
        .await
    }

    /// The event ids of the conversation's lines, in DOM order.
    pub async fn line_ids(&self) -> Vec<u64> {
        let v = self
            .js(
                "return Array.from(document.querySelectorAll('.pc-log > li[data-event-id]'))\
                 .map(li => Number(li.getAttribute('data-event-id')));",
                vec![],
            )
            .await;
        serde_json::from_value(v).expect("ids")
    }

    pub async fn save_screenshot(&self, name: &str) -> PathBuf {
        let dir = workspace_root().join("test-output");
        std::fs::create_dir_all(&dir).expect("test-output dir");
        let png = self.c.screenshot().await.expect("screenshot");
        let path = dir.join(name);
        std::fs::write(&path, png).expect("write screenshot");
        path
    }
}

/// A summary of the widget for failure messages.
const DUMP: &str = "return {
  state: window.__parleyTest && window.__parleyTest.state(),
  errors: window.__parleyTest && window.__parleyTest.errors(),
  csp: window.__parleyTest && window.__parleyTest.cspViolations(),
  status: (document.querySelector('.pc-status') || {}).textContent,
  notice: (document.querySelector('.pc-notice') || {}).textContent,
  lines: Array.from(document.querySelectorAll('.pc-log > li')).map(li =>
    (li.getAttribute('data-event-id') || '-') + ' ' + li.className + ' | ' + li.textContent)
};";

/// GETs one of Parley's pages and checks it is served with a strict CSP: one that has
/// `directive` and never allows inline script or style.
pub async fn assert_strict_csp(url: &str, directive: &str) {
    let resp = reqwest::get(url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(resp.status().as_u16(), 200, "Parley serves {url}");
    let csp = resp
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        csp.contains(directive) && !csp.contains("unsafe-inline"),
        "strict CSP on {url}: {csp:?}"
    );
}

//! A real browser for the console's tests: Debian's chromium, headless,
//! driven through chromedriver by the W3C WebDriver protocol (JSON over
//! HTTP, spoken here with the tests' own HTTP client). `.ci/browser.sh`
//! installs chromium, chromedriver and axe-core when they are missing; the
//! first browser test runs it if `.ci/run` did not.

use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One browser at a time: two cores do not run several chromiums beside
/// the rest of the suite without tests timing out.
static ONE_BROWSER: Mutex<()> = Mutex::new(());

fn axe_path() -> PathBuf {
    let dir = std::env::var("REGISTRY_AXE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
                .join(".cache/registry-console")
        });
    dir.join("node_modules/axe-core/axe.min.js")
}

/// Installs what the browser tests need, once per run.
fn set_up() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let have = |cmd: &str| {
            Command::new("sh")
                .args(["-c", &format!("command -v {cmd}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if have("chromium") && have("chromedriver") && axe_path().exists() {
            return;
        }
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/browser.sh");
        let status = Command::new("bash")
            .arg(script)
            .status()
            .expect("run .ci/browser.sh");
        assert!(status.success(), ".ci/browser.sh failed");
    });
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    profile: PathBuf,
    agent: ureq::Agent,
    _turn: MutexGuard<'static, ()>,
}

impl Browser {
    /// A headless chromium with `language` as the browser's language.
    pub fn start(language: &str) -> Self {
        set_up();
        let turn = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(60))
            .build();
        let deadline = Instant::now() + Duration::from_secs(20);
        while agent.get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = std::env::temp_dir().join(format!(
            "registry-chromium-{}",
            uuid::Uuid::now_v7().simple()
        ));
        // The flags keep chromium from reaching for the network, which this
        // machine's sandbox refuses (docs/console.md).
        let args = json!([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,1000",
            format!("--lang={language}"),
            format!("--user-data-dir={}", profile.display()),
        ]);
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": args,
                "prefs": {"intl.accept_languages": language},
            },
        }}});
        let answer: Value = agent
            .post(&format!("{base}/session"))
            .send_json(caps)
            .expect("a browser session")
            .into_json()
            .expect("JSON");
        let session = answer["value"]["sessionId"]
            .as_str()
            .expect("session id")
            .to_string();
        Self {
            driver,
            base,
            session,
            profile,
            agent,
            _turn: turn,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
    }

    fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let req = self.agent.request(method, &url);
        let res = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        match res {
            Ok(r) => Ok(r.into_json::<Value>().map_err(|e| e.to_string())?["value"].take()),
            Err(ureq::Error::Status(_, r)) => {
                let v: Value = r.into_json().unwrap_or_default();
                Err(v["value"]["message"].to_string())
            }
            Err(e) => Err(e.to_string()),
        }
    }

    /// The page's text, shortened, for a failure's message.
    fn page_text(&self) -> String {
        let text = self.run("return document.body.innerText", json!([]));
        text.as_str()
            .unwrap_or_default()
            .chars()
            .take(1500)
            .collect()
    }

    pub fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url})));
    }

    /// Runs `script` (a function body) in the page, with `args`.
    pub fn run(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Runs `script`, which calls its last argument with the answer.
    pub fn run_async(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/async",
            Some(json!({"script": script, "args": []})),
        )
    }

    fn find_now(&self, css: &str) -> Option<String> {
        let url = format!("{}/session/{}/element", self.base, self.session);
        let r = self
            .agent
            .post(&url)
            .send_json(json!({"using": "css selector", "value": css}))
            .ok()?;
        let v: Value = r.into_json().ok()?;
        v["value"][ELEMENT].as_str().map(str::to_string)
    }

    /// The element `css` selects, waiting up to ten seconds for it.
    #[track_caller]
    pub fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(id) = self.find_now(css) {
                return id;
            }
            if Instant::now() > deadline {
                panic!("no element {css} on the page: {}", self.page_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types `text` into the field `css` selects.
    pub fn type_in(&self, css: &str, text: &str) {
        let el = self.find(css);
        self.call("POST", &format!("/element/{el}/clear"), Some(json!({})));
        self.call(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({"text": text})),
        );
    }

    /// Fills the field whose API name is `name` in the form `form`.
    pub fn fill(&self, form: &str, name: &str, text: &str) {
        self.type_in(&format!("{form} [name=\"{name}\"]"), text);
    }

    /// Chooses `value` in the select of API name `name` in `form`.
    pub fn choose(&self, form: &str, name: &str, value: &str) {
        let css = format!("{form} [name=\"{name}\"]");
        self.find(&css);
        self.run(
            "const s = document.querySelector(arguments[0]); s.value = arguments[1]; \
             s.dispatchEvent(new Event('change'));",
            json!([css, value]),
        );
    }

    /// Presses a key (a WebDriver key code such as `\u{E004}`, Tab) in
    /// whatever has the focus, as a keyboard user would.
    pub fn press(&self, key: &str) {
        let active = self.call("GET", "/element/active", None);
        let el = active[ELEMENT]
            .as_str()
            .expect("an element has the focus")
            .to_string();
        self.call(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({"text": key})),
        );
    }

    /// Accepts the `confirm()` the page opened.
    pub fn accept_dialog(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self
            .try_call("POST", "/alert/accept", Some(json!({})))
            .is_err()
        {
            assert!(Instant::now() < deadline, "no dialog opened");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn click(&self, css: &str) {
        let el = self.find(css);
        self.call("POST", &format!("/element/{el}/click"), Some(json!({})));
    }

    pub fn text(&self, css: &str) -> String {
        let el = self.find(css);
        self.call("GET", &format!("/element/{el}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The text of `css` now, if it is on the page (the page may replace
    /// it between finding it and reading it).
    fn text_now(&self, css: &str) -> Option<String> {
        let el = self.find_now(css)?;
        let v = self
            .try_call("GET", &format!("/element/{el}/text"), None)
            .ok()?;
        v.as_str().map(str::to_string)
    }

    /// Waits until `css`'s text contains `wanted`, and answers the text.
    #[track_caller]
    pub fn wait_text(&self, css: &str, wanted: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let text = self.text_now(css).unwrap_or_default();
            if text.contains(wanted) {
                return text;
            }
            if Instant::now() > deadline {
                panic!(
                    "{css} never read {wanted:?}; it reads {text:?}; the page: {}",
                    self.page_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the page's address ends its hash with `hash`.
    #[track_caller]
    pub fn wait_hash(&self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let hash = self.run("return location.hash", json!([]));
            let hash = hash.as_str().unwrap_or_default().to_string();
            if hash.starts_with(prefix) {
                return hash;
            }
            assert!(Instant::now() < deadline, "the page stayed at {hash}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Saves a screenshot as `name`.png under the target directory's
    /// `console-screenshots`, and answers its path.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        use base64::Engine;
        let png = self.call("GET", "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .expect("base64 PNG");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, bytes).expect("write screenshot");
        path
    }

    /// axe-core's serious and critical violations on the page as it is.
    pub fn accessibility_violations(&self) -> Vec<String> {
        let axe = std::fs::read_to_string(axe_path()).expect("axe-core installed");
        self.run(&axe, json!([]));
        let found = self.run_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {resultTypes: ['violations']}).then(r => done(
               r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.map(n => n.target.join(' ')).join(', '))
             ), e => done(['axe failed: ' + e]));",
        );
        found
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Prints a figure and keeps it beside the screenshots, where `.ci/run`
/// shows it (a passing test's output is captured).
pub fn record_figure(name: &str, line: &str) {
    println!("{line}");
    let dir = screenshot_dir();
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("{name}.txt")), format!("{line}\n"));
}

pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("console-screenshots")
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self
            .agent
            .delete(&format!("{}/session/{}", self.base, self.session))
            .call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

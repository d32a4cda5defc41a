//! A small WebDriver client for the console's browser tests: `chromedriver` (Debian's
//! `chromium-driver`) as a child process on a free loopback port, killed on drop, and a
//! headless Chromium session driven by the protocol's JSON commands over `ureq` (new session,
//! navigate, run a script, find and click, read the browser's log).
//!
//! Nothing here sleeps: [`Browser::wait_for`] hands the browser a script that resolves once a
//! condition on the page holds, bounded by the session's script timeout, so the test awaits the
//! outcome itself.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

/// The longest a page may take to reach a condition (the session's script timeout), in ms.
const SCRIPT_TIMEOUT_MS: u64 = 30_000;

/// `chromedriver --port=0` as a child process, killed on drop.
struct Chromedriver {
    child: Child,
    base: String,
}

impl Chromedriver {
    /// Starts chromedriver and returns once it says which port it listens on.
    fn start() -> Chromedriver {
        let mut child = Command::new("chromedriver")
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut printed = String::new();
        let port = loop {
            let mut line = String::new();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "chromedriver exited early; it printed:\n{printed}"
            );
            printed.push_str(&line);
            // `ChromeDriver was started successfully on port 37811.`
            if let Some(rest) = line.trim().split_once("started successfully on port ") {
                break rest.1.trim_end_matches('.').parse::<u16>().unwrap();
            }
        };
        // Keep reading its stdout so that it never blocks on a full pipe.
        std::thread::spawn(move || for _ in stdout.lines() {});
        Chromedriver {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One headless Chromium session; deleted (and chromedriver killed) on drop.
pub struct Browser {
    agent: ureq::Agent,
    session: String,
    driver: Chromedriver,
}

impl Browser {
    /// A new headless session with the browser's log kept at every level.
    pub fn start() -> Browser {
        let driver = Chromedriver::start();
        let agent = crate::serve_child::http_agent();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000",
                "--disable-dev-shm-usage"
            ]},
            "goog:loggingPrefs": {"browser": "ALL"},
            "timeouts": {"script": SCRIPT_TIMEOUT_MS, "pageLoad": SCRIPT_TIMEOUT_MS, "implicit": 0}
        }}});
        let answer = send(
            &agent,
            "POST",
            &format!("{}/session", driver.base),
            &capabilities,
        );
        let session = answer["sessionId"].as_str().unwrap().to_string();
        Browser {
            agent,
            session,
            driver,
        }
    }

    /// Runs a WebDriver command of this session; its `value`.
    fn command(&self, method: &str, path: &str, body: &Value) -> Value {
        let url = format!("{}/session/{}{path}", self.driver.base, self.session);
        send(&self.agent, method, &url, body)
    }

    /// Opens `url` and waits for the document to load.
    pub fn open(&self, url: &str) {
        self.command("POST", "/url", &json!({"url": url}));
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page; what it returns.
    pub fn run(&self, script: &str, args: &[Value]) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            &json!({"script": script, "args": args}),
        )
    }

    /// Awaits `condition` (an expression over the page) becoming truthy, checked at each
    /// animation frame in the browser, at most the script timeout; its value.
    pub fn wait_for(&self, condition: &str) -> Value {
        let script = format!(
            "const done = arguments[arguments.length - 1];
             const check = () => {{
               let value = null;
               try {{ value = ({condition}); }} catch (error) {{ value = null; }}
               if (value) done(value); else requestAnimationFrame(check);
             }};
             check();"
        );
        let url = format!(
            "{}/session/{}/execute/async",
            self.driver.base, self.session
        );
        let body = json!({"script": script, "args": []});
        let answer = post_json(&self.agent, &url, &body);
        assert!(
            answer["value"].get("error").is_none(),
            "the page did not reach `{condition}` within {SCRIPT_TIMEOUT_MS} ms: {}\nthe page shows: {}",
            answer["value"],
            self.run("return document.body.innerText.slice(0, 2000)", &[])
        );
        answer["value"].clone()
    }

    /// Opens a console page (`hash` such as `#/alerts`) of `base` and awaits its rendering: the
    /// `state` it ended in (`ready` or `error`).
    pub fn page(&self, base: &str, hash: &str) -> String {
        self.page_at(&format!("{base}/{hash}"))
    }

    /// Opens the console page at `url` and awaits its rendering, as [`Browser::page`].
    pub fn page_at(&self, url: &str) -> String {
        // A change of the hash alone would not reload the document: load it afresh, so that
        // the state awaited is the new page's (the tab's session storage stays).
        self.open("about:blank");
        self.open(url);
        let state = self.wait_for(
            "['ready', 'error'].includes(document.getElementById('page').dataset.state) && \
             document.getElementById('page').dataset.state",
        );
        state.as_str().unwrap().to_string()
    }

    /// Cuts the browser off the network (chromedriver's network conditions): a page must then
    /// make do with what it holds.
    pub fn go_offline(&self) {
        self.command(
            "POST",
            "/chromium/network_conditions",
            &json!({"network_conditions": {
                "offline": true, "latency": 0, "download_throughput": 0, "upload_throughput": 0
            }}),
        );
    }

    /// Clicks the first element matching `css`.
    pub fn click(&self, css: &str) {
        let found = self.command(
            "POST",
            "/element",
            &json!({"using": "css selector", "value": css}),
        );
        let id = found
            .as_object()
            .and_then(|object| object.values().next())
            .and_then(Value::as_str)
            .unwrap()
            .to_string();
        self.command("POST", &format!("/element/{id}/click"), &json!({}));
    }

    /// Types `text` into the first element matching `css`. The page may render the element
    /// again between finding it and typing (the console redraws a form when an answer
    /// arrives): a stale element is found again, a few times at most.
    pub fn type_into(&self, css: &str, text: &str) {
        for _ in 0..5 {
            let found = self.command(
                "POST",
                "/element",
                &json!({"using": "css selector", "value": css}),
            );
            let id = found
                .as_object()
                .and_then(|object| object.values().next())
                .and_then(Value::as_str)
                .unwrap()
                .to_string();
            let url = format!(
                "{}/session/{}/element/{id}/value",
                self.driver.base, self.session
            );
            let value = post_json(&self.agent, &url, &json!({"text": text}))["value"].clone();
            match value.get("error").and_then(Value::as_str) {
                None => return,
                Some("stale element reference") => continue,
                Some(_) => panic!("WebDriver POST {url} failed: {value}"),
            }
        }
        panic!("{css} went stale five times in a row");
    }

    /// The browser's log entries at level SEVERE since the last call (console errors, failed
    /// loads, uncaught exceptions).
    pub fn severe_errors(&self) -> Vec<String> {
        self.command("POST", "/se/log", &json!({"type": "browser"}))
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let url = format!("{}/session/{}", self.driver.base, self.session);
        let _ = self.agent.delete(&url).call();
    }
}

/// Sends one WebDriver command; its `value`, failing the test on a WebDriver error.
fn send(agent: &ureq::Agent, method: &str, url: &str, body: &Value) -> Value {
    let answer = match method {
        "GET" => read_json(agent.get(url).call().unwrap()),
        "DELETE" => read_json(agent.delete(url).call().unwrap()),
        _ => post_json(agent, url, body),
    };
    let value = answer["value"].clone();
    assert!(
        value.get("error").is_none(),
        "WebDriver {method} {url} failed: {value}"
    );
    value
}

/// POSTs `body` as JSON; the JSON answer.
fn post_json(agent: &ureq::Agent, url: &str, body: &Value) -> Value {
    read_json(
        agent
            .post(url)
            .header("content-type", "application/json")
            .send(body.to_string())
            .unwrap(),
    )
}

fn read_json(mut response: ureq::http::Response<ureq::Body>) -> Value {
    serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
}

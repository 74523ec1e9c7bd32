//! A real browser for the web pages' tests: Debian's chromium, driven by Playwright's
//! `playwright-core` through tests/browser/drive.mjs, one JSON command per line. The steps
//! and the assertions stay in the Rust tests.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{json, Value};

use super::{repository_file, Guard};

pub struct Browser {
    _process: Guard,
    commands: ChildStdin,
    answers: BufReader<ChildStdout>,
}

impl Browser {
    pub fn start() -> Browser {
        Browser::start_with(None)
    }

    /// [`Browser::start`] with the page in the time zone `zone` (an IANA name), whatever the
    /// machine's: for pages that show local times.
    pub fn start_in_time_zone(zone: &str) -> Browser {
        Browser::start_with(Some(zone))
    }

    fn start_with(time_zone: Option<&str>) -> Browser {
        let folder = repository_file("tests/browser");
        assert!(
            folder.join("node_modules/playwright-core").exists(),
            "playwright-core is missing: npm ci --prefix tests/browser (CI runs it in .ci/run)"
        );
        let mut command = Command::new("node");
        if let Some(zone) = time_zone {
            command.env("BROWSER_TIME_ZONE", zone);
        }
        let mut process = command
            .arg(folder.join("drive.mjs"))
            .current_dir(&folder)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node runs (apt-get install -y nodejs npm)");
        let commands = process.stdin.take().unwrap();
        let answers = BufReader::new(process.stdout.take().unwrap());
        Browser {
            _process: Guard(Some(process)),
            commands,
            answers,
        }
    }

    /// A folder for screenshots, outside the repository.
    pub fn screenshots(page: &str) -> PathBuf {
        let folder =
            std::env::temp_dir().join(format!("switchboard-{page}-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        folder
    }

    pub fn send(&mut self, command: Value) -> Value {
        writeln!(self.commands, "{command}").unwrap();
        let mut line = String::new();
        self.answers.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|error| panic!("{error}: {line:?}"))
    }

    /// Runs `command` and fails with its answer unless it succeeded.
    pub fn must(&mut self, command: Value) -> Value {
        let answer = self.send(command.clone());
        assert_eq!(answer["ok"], true, "{command} → {answer}");
        answer
    }

    /// Waits up to `timeout_ms` for the text of the first element `selector` matches; returns
    /// how long it took.
    pub fn wait_text(&mut self, selector: &str, text: &str, timeout_ms: u64) -> u64 {
        let answer =
            self.must(json!({ "wait_text": selector, "text": text, "timeout_ms": timeout_ms }));
        answer["elapsed_ms"].as_u64().unwrap()
    }

    /// The text of the first element `selector` matches.
    pub fn text(&mut self, selector: &str) -> String {
        let answer = self.must(json!({ "text": selector }));
        answer["text"].as_str().unwrap().to_string()
    }

    /// Opens the agent desk on `http_port`, signs `agent` in with `token` and takes chats (and
    /// e-mails): the chat socket is open once this returns.
    pub fn open_desk_taking_chats(&mut self, http_port: u16, agent: &str, token: &str) {
        self.must(json!({ "open": format!("http://127.0.0.1:{http_port}/desk") }));
        self.must(json!({ "fill": "#agent", "value": agent }));
        self.must(json!({ "fill": "#token", "value": token }));
        self.must(json!({ "click": "#login button[type=submit]" }));
        self.wait_text("#state", "offline", 5_000);
        self.must(json!({ "click": "#chat-start" }));
        self.wait_text("#chat-status", "Taking chats.", 5_000);
    }

    /// On the agent desk: accepts the offer of `contact` and waits for its card's `title`;
    /// returns the card's selector.
    pub fn accept_desk_offer(&mut self, contact: u64, title: &str) -> String {
        self.must(json!({ "click": format!("#offer-{contact} .accept") }));
        let card = format!("#chat-{contact}");
        self.wait_text(&format!("{card} h3"), title, 5_000);
        card
    }

    pub fn screenshot(&mut self, path: &Path) {
        self.must(json!({ "screenshot": path }));
        eprintln!("screenshot: {}", path.display());
    }

    /// No script error and no failed load, but the answers with the status codes `provoked`
    /// (a refusal the test asked for), which the console reports too.
    pub fn assert_no_console_errors(&mut self, provoked: &[u16]) {
        let answer = self.must(json!({ "errors": true }));
        let errors: Vec<&str> = answer["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .filter(|error| {
                !provoked
                    .iter()
                    .any(|status| error.contains(&format!("status of {status} ")))
            })
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
    }
}

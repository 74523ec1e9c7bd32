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
        let folder = repository_file("tests/browser");
        assert!(
            folder.join("node_modules/playwright-core").exists(),
            "playwright-core is missing: npm ci --prefix tests/browser (CI runs it in .ci/run)"
        );
        let mut process = Command::new("node")
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

//! Helpers for the tests: running the command line ([`cli`]) and the planner (a plan, its
//! re-simulation with another seed); and for the live runtime: start `switchboard serve` on
//! free loopback ports, run SIPp peers with time limits, speak plain HTTP, read the CDR
//! database. Every child process is killed when its guard is dropped, so a failing test leaves
//! nothing running.

#![allow(dead_code)] // each test file uses a different part

pub mod browser;
pub mod chat_socket;
pub mod cli;
pub mod event_stream;

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "test-token";
/// Every agent's password in tests/sipp/secrets.toml.
pub const AGENT_PASSWORD: &str = "phone-password";

/// Runs `switchboard plan staff SCENARIO ARGUMENTS… --quiet --out OUT` from the repository,
/// asserts it succeeded, and returns the plan it wrote into `out` and what it printed.
pub fn plan_staff(
    scenario: &Path,
    arguments: &[&str],
    out: &Path,
) -> (switchboard_results::staffing::StaffingPlanFile, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["plan", "staff"])
        .arg(scenario)
        .args(arguments)
        .args(["--quiet", "--out"])
        .arg(out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the switchboard program runs");
    assert!(
        output.status.success(),
        "plan staff failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8(output.stdout).expect("output is UTF-8");
    let plan =
        switchboard_results::staffing::StaffingPlanFile::read_folder(out).expect("plan.json reads");
    (plan, printed)
}

/// The output docs/plan.md shows under `command` (a line `$ switchboard ...` in a text
/// block), up to the block's end.
pub fn planning_guide_output(command: &str) -> String {
    let guide = std::fs::read_to_string(repository_file("docs/plan.md")).unwrap();
    let start = guide
        .find(command)
        .unwrap_or_else(|| panic!("docs/plan.md shows {command}"));
    let block = &guide[start + command.len()..];
    block[..block.find("```").unwrap()]
        .trim_start_matches('\n')
        .to_string()
}

pub fn repository_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

pub fn sipp_file(name: &str) -> String {
    repository_file(&format!("tests/sipp/{name}"))
        .to_string_lossy()
        .into_owned()
}

/// Fails (never skips) when SIPp is missing.
pub fn require_sipp() {
    let found = Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        found,
        "sipp is not installed: install the Debian package sip-tester \
         (apt-get update && apt-get install -y sip-tester); CI installs it in .ci/run"
    );
}

pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed on drop.
pub struct Guard(pub Option<Child>);

impl Guard {
    /// Wait up to `limit` for the process to end; kill it past that.
    pub fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        let child = self.0.as_mut()?;
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `switchboard serve` on free ports, with its data in a temporary folder.
pub struct Server {
    pub process: Guard,
    pub sip_port: u16,
    pub http_port: u16,
    pub directory: tempfile::TempDir,
}

impl Server {
    pub fn start(scenario: &str) -> Server {
        Server::start_with_arguments(scenario, &[])
    }

    /// [`Server::start`] with more options for `serve` (`--sip-tcp ADDRESS`, ...).
    pub fn start_with_arguments(scenario: &str, arguments: &[&str]) -> Server {
        Server::start_logging(scenario, arguments, "info")
    }

    /// [`Server::start_with_arguments`] with the log filter `log` (`RUST_LOG`).
    pub fn start_logging(scenario: &str, arguments: &[&str], log_filter: &str) -> Server {
        let mut directory = tempfile::tempdir().unwrap();
        // A free port can be taken between probing and binding: try a few times.
        for _attempt in 0..5 {
            match Server::launch(directory, scenario, arguments, log_filter) {
                Ok(server) => return server,
                Err(folder) => directory = folder,
            }
        }
        panic!("switchboard serve did not start in five attempts");
    }

    /// Start `serve` again on the same data folder (after [`Server::stop`] or
    /// [`Server::kill`]), on new ports, as an operator restarts it.
    pub fn restart(&mut self, scenario: &str) {
        let mut directory = std::mem::replace(&mut self.directory, tempfile::tempdir().unwrap());
        for _attempt in 0..5 {
            match Server::launch(directory, scenario, &[], "info") {
                Ok(server) => {
                    *self = server;
                    return;
                }
                Err(folder) => directory = folder,
            }
        }
        panic!("switchboard serve did not start again in five attempts");
    }

    /// `serve` on free ports with its data in `directory`, once it answers `/health`; the
    /// folder back when it did not start.
    fn launch(
        directory: tempfile::TempDir,
        scenario: &str,
        arguments: &[&str],
        log_filter: &str,
    ) -> Result<Server, tempfile::TempDir> {
        let sip_port = free_udp_port();
        let http_port = free_tcp_port();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(directory.path().join("server.log"))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("serve")
            .arg(repository_file(scenario))
            .args(["--sip", &format!("127.0.0.1:{sip_port}")])
            .args(["--http", &format!("127.0.0.1:{http_port}")])
            .arg("--data")
            .arg(directory.path().join("data"))
            .args(arguments)
            .env("RUST_LOG", log_filter)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut server = Server {
            process: Guard(Some(child)),
            sip_port,
            http_port,
            directory,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if server.get("/health").0 == 200 {
                return Ok(server);
            }
            if let Some(Ok(Some(_))) = server.process.0.as_mut().map(Child::try_wait) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("serve did not start; retrying:\n{}", server.log());
        if let Some(mut child) = server.process.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let Server { directory, .. } = server;
        Err(directory)
    }

    pub fn sip_address(&self) -> String {
        format!("127.0.0.1:{}", self.sip_port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.directory.path().join("server.log")).unwrap_or_default()
    }

    /// Stop with SIGTERM (as an operator would) and wait for the CDRs to be written.
    pub fn stop(&mut self) {
        if let Some(child) = self.process.0.as_ref() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        let status = self.process.wait(Duration::from_secs(15));
        assert!(
            status.is_some_and(|status| status.success()),
            "serve did not stop cleanly: {status:?}\n{}",
            self.log()
        );
    }

    /// Stop with SIGKILL, as a crash would: nothing is flushed or finished.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.process.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn cdr_path(&self) -> PathBuf {
        self.directory.path().join("data/cdr.sqlite")
    }

    /// A GET without a token (only /health and /openapi.json answer it).
    pub fn get(&self, path: &str) -> (u16, String) {
        http(self.http_port, "GET", path, None, "")
    }

    /// A GET with the test scenario's API token.
    pub fn read(&self, path: &str) -> (u16, String) {
        http(self.http_port, "GET", path, Some(TOKEN), "")
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
        http(self.http_port, "POST", path, token, body)
    }

    /// Start an agent phone: a SIPp answering with `scenario`, registered as `agent`.
    pub fn agent(&self, agent: &str, scenario: &str) -> Guard {
        self.agent_with(agent, scenario, &[])
    }

    /// [`Server::agent`] with more options for its SIPp (`-key NAME VALUE`, `-m 1` ...).
    pub fn agent_with(&self, agent: &str, scenario: &str, arguments: &[&str]) -> Guard {
        let port = free_udp_port();
        let phone = self.phone_with(agent, scenario, port, arguments);
        let keys = [("contact_port", port.to_string())];
        self.register(agent, "register.xml", &keys, free_udp_port());
        phone
    }

    /// A SIPp answering calls with `scenario` on `port`, its screen in `NAME.log`.
    pub fn phone(&self, name: &str, scenario: &str, port: u16) -> Guard {
        self.phone_with(name, scenario, port, &[])
    }

    /// [`Server::phone`] with more options for its SIPp.
    pub fn phone_with(&self, name: &str, scenario: &str, port: u16, arguments: &[&str]) -> Guard {
        require_sipp();
        let log = std::fs::File::create(self.directory.path().join(format!("{name}.log"))).unwrap();
        let phone = Command::new("sipp")
            .args(["-sf", &sipp_file(scenario)])
            .args(["-i", "127.0.0.1", "-p", &port.to_string()])
            .args(["-nostdin", "-aa"])
            .args(arguments)
            .current_dir(self.directory.path())
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Guard(Some(phone))
    }

    /// Register `agent` with the REGISTER scenario `scenario` (given `-key NAME VALUE` pairs),
    /// sent from `source_port`; panics unless it ends with a 200.
    pub fn register(&self, agent: &str, scenario: &str, keys: &[(&str, String)], source_port: u16) {
        let status = sipp_register(
            &self.sip_address(),
            ("127.0.0.1", source_port),
            agent,
            scenario,
            keys,
            self.directory.path(),
        );
        assert!(
            status.is_some_and(|status| status.success()),
            "agent {agent} could not register with {scenario}: {status:?}\n{}",
            self.log()
        );
    }

    /// Run a trunk SIPp to completion (bounded in time); returns its exit status and screen.
    pub fn trunk(
        &self,
        scenario: &str,
        service: &str,
        arguments: &[&str],
    ) -> (Option<ExitStatus>, String) {
        require_sipp();
        let screen = self
            .directory
            .path()
            .join(format!("trunk-{}.log", free_udp_port()));
        let mut trunk = Guard(Some(
            Command::new("sipp")
                .arg(self.sip_address())
                .args(["-sf", &sipp_file(scenario)])
                .args(["-s", service])
                .args(["-i", "127.0.0.1", "-p", &free_udp_port().to_string()])
                .args(["-nostdin", "-timeout", "60", "-timeout_error", "-trace_err"])
                .args(arguments)
                .current_dir(self.directory.path())
                .stdout(std::fs::File::create(&screen).unwrap())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        ));
        let status = trunk.wait(Duration::from_secs(90));
        (status, std::fs::read_to_string(&screen).unwrap_or_default())
    }
}

/// Fails, with SIPp's screen and the server's log, unless the trunk's SIPp succeeded.
pub fn assert_trunk_succeeded(server: &Server, result: &(Option<ExitStatus>, String)) {
    assert!(
        result.0.is_some_and(|status| status.success()),
        "the trunk's calls failed: {:?}\n--- sipp ---\n{}\n--- server ---\n{}",
        result.0,
        result.1,
        server.log()
    );
}

/// One HTTP/1.1 exchange over a fresh connection to loopback: status and body.
pub fn http(port: u16, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    http_to("127.0.0.1", port, method, path, token, body)
}

/// [`http`] to `host` (an address: a site in a network namespace, say).
pub fn http_to(
    host: &str,
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let Ok(mut stream) = TcpStream::connect((host, port)) else {
        return (0, String::new());
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let authorization = token
        .map(|token| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{authorization}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The named string fields of an audit record, in order (absent or not a string: empty).
pub fn record_fields(record: &serde_json::Value, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|name| record[*name].as_str().unwrap_or_default().to_string())
        .collect()
}

/// One CDR row, the columns the tests look at.
#[derive(Debug, Clone)]
pub struct Cdr {
    pub call_id: String,
    pub entry_point: String,
    pub queue: Option<String>,
    pub agent: Option<String>,
    pub answered_unix_ms: Option<i64>,
    pub ended_unix_ms: i64,
    pub outcome: String,
    pub hangup_side: String,
    pub sip_status: u16,
    pub offers_unanswered: u32,
    pub caller: Option<String>,
    pub direction: String,
    pub arrived_unix_ms: i64,
    pub trunk: Option<String>,
    pub contact_id: u64,
    pub transferred_to: Option<String>,
    pub transfer_of: Option<u64>,
    /// The recording's file name in the recordings folder.
    pub recording: Option<String>,
}

pub fn cdrs(path: &Path) -> Vec<Cdr> {
    let connection = rusqlite::Connection::open(path).unwrap();
    let mut statement = connection
        .prepare(
            "SELECT call_id, entry_point, queue, agent, answered_unix_ms, ended_unix_ms, outcome,
             hangup_side, sip_status, offers_unanswered, caller, direction, arrived_unix_ms, trunk,
             contact_id, transferred_to, transfer_of, recording FROM cdr ORDER BY id",
        )
        .unwrap();
    statement
        .query_map([], |row| {
            Ok(Cdr {
                call_id: row.get(0)?,
                entry_point: row.get(1)?,
                queue: row.get(2)?,
                agent: row.get(3)?,
                answered_unix_ms: row.get(4)?,
                ended_unix_ms: row.get(5)?,
                outcome: row.get(6)?,
                hangup_side: row.get(7)?,
                sip_status: row.get(8)?,
                offers_unanswered: row.get(9)?,
                caller: row.get(10)?,
                direction: row.get(11)?,
                arrived_unix_ms: row.get(12)?,
                trunk: row.get(13)?,
                contact_id: row.get::<_, i64>(14)? as u64,
                transferred_to: row.get(15)?,
                transfer_of: row.get::<_, Option<i64>>(16)?.map(|contact| contact as u64),
                recording: row.get(17)?,
            })
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The value of a metric line of `/metrics`, if present.
pub fn metric(server: &Server, line_start: &str) -> Option<String> {
    let (_, text) = server.read("/metrics");
    text.lines()
        .find(|line| line.starts_with(line_start))
        .map(|line| line[line_start.len()..].trim().to_string())
}

/// Whether `condition` holds within `limit`, looked at every 100 ms.
pub fn wait_for(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// A chat's or an e-mail/ticket contact's transcript (table `chat_message`): each line's
/// sender and text, in order.
pub fn transcript(path: &Path, contact: u64) -> Vec<(String, String)> {
    let connection = rusqlite::Connection::open(path).unwrap();
    let mut statement = connection
        .prepare("SELECT sender, text FROM chat_message WHERE contact_id = ?1 ORDER BY sequence")
        .unwrap();
    statement
        .query_map([contact as i64], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// tests/sipp/center.toml with its secrets file named by absolute path, so that a copy of it
/// elsewhere (a test's own variant) still finds it.
pub fn sipp_center_movable() -> String {
    let center = std::fs::read_to_string(repository_file("tests/sipp/center.toml")).unwrap();
    center.replace(
        "secrets = \"secrets.toml\"",
        &format!(
            "secrets = {:?}",
            repository_file("tests/sipp/secrets.toml")
                .display()
                .to_string()
        ),
    )
}

/// A user of a [`CompliantCenter`]: name, role, the agent it is (agent role), its queues.
pub type TestUser<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a [&'a str]>);

/// A copy of tests/sipp/center.toml whose HTTP API checks per-user tokens by role and audits
/// them (`[live.compliance]`), in its own folder with its token file, audit key and audit log.
pub struct CompliantCenter {
    pub folder: tempfile::TempDir,
    /// User name → token.
    pub tokens: std::collections::BTreeMap<String, String>,
}

impl CompliantCenter {
    /// `users`: (name, role, agent, queues); `extra` is appended to `[live.compliance]`.
    pub fn new(users: &[TestUser<'_>], extra: &str) -> Self {
        CompliantCenter::of(&sipp_center_movable(), users, extra)
    }

    /// [`CompliantCenter::new`] for another center (one with `api_token = "test-token"`).
    pub fn of(center: &str, users: &[TestUser<'_>], extra: &str) -> Self {
        use switchboard_compliance::note::NoteSigner;
        use switchboard_compliance::roles::{new_token, with_user, HashCost, Role, UserEntry};
        let folder = tempfile::tempdir().unwrap();
        let mut text = String::new();
        let mut tokens = std::collections::BTreeMap::new();
        for (name, role, agent, queues) in users {
            let role = Role::ALL
                .into_iter()
                .find(|known| known.name() == *role)
                .unwrap();
            let entry = UserEntry {
                name: name.to_string(),
                role,
                sites: None,
                queues: queues.map(|queues| queues.iter().map(|q| q.to_string()).collect()),
                agent: agent.map(str::to_string),
                token_hash: String::new(),
            };
            // Cheap hashes: the server verifies whatever parameters a hash names.
            let cost = HashCost {
                memory_kib: 64,
                passes: 1,
            };
            let (token, entry) = new_token(entry, cost).unwrap();
            text = with_user(&text, "tokens.toml", entry).unwrap();
            tokens.insert(name.to_string(), token);
        }
        std::fs::write(folder.path().join("tokens.toml"), text).unwrap();
        let signer = NoteSigner::generate("audit.test/live").unwrap();
        std::fs::write(folder.path().join("audit.key"), signer.to_private_text()).unwrap();
        std::fs::write(folder.path().join("audit.pub"), signer.verifier().to_text()).unwrap();
        assert!(center.contains("api_token = \"test-token\"\n"));
        let center = center.replace("api_token = \"test-token\"\n", "");
        let scenario = format!(
            "{center}\n[live.compliance]\ntokens = \"tokens.toml\"\naudit_key = \"audit.key\"\n\
             audit = \"audit\"\n{extra}\n"
        );
        std::fs::write(folder.path().join("center.toml"), scenario).unwrap();
        CompliantCenter { folder, tokens }
    }

    pub fn scenario(&self) -> String {
        self.folder
            .path()
            .join("center.toml")
            .to_string_lossy()
            .into_owned()
    }

    pub fn token(&self, user: &str) -> &str {
        &self.tokens[user]
    }

    pub fn audit_folder(&self) -> PathBuf {
        self.folder.path().join("audit")
    }

    /// The audit log's records, parsed.
    pub fn audit_records(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.audit_folder().join("log.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// `switchboard audit verify` of the log: its exit status and what it printed.
    pub fn verify_audit(&self) -> (bool, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("audit")
            .arg("verify")
            .arg(self.audit_folder())
            .arg("--key")
            .arg(self.folder.path().join("audit.pub"))
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.success(), text)
    }
}

/// The figures of re-simulating a plan: `queues[queue][interval]` and
/// `occupancy[group][interval]`.
pub struct Resimulated {
    pub queues: Vec<Vec<switchboard_results::staffing::IntervalEstimates>>,
    pub occupancy: Vec<Vec<switchboard_results::Estimate>>,
}

/// Simulates `scenario` (a scenario whose groups read a plan's plan.csv) with `seed`.
pub fn resimulate(
    scenario: &switchboard_sim::Scenario,
    seed: u64,
    replications: u32,
) -> Resimulated {
    let model = switchboard_sim::run::prepare(scenario).expect("the scenario compiles");
    let options = switchboard_sim::run::RunOptions {
        seed: Some(seed),
        replications: Some(replications),
        threads: 2,
        ..switchboard_sim::run::RunOptions::default()
    };
    let result = switchboard_sim::run(&model, &options, &|_| {}).expect("the run finishes");
    Resimulated {
        queues: switchboard_sim::demand::queue_interval_estimates(&model, &result),
        occupancy: switchboard_sim::demand::group_interval_occupancy(&model, &result),
    }
}

/// Whether `estimate`'s 95 % interval reaches `limit` on the good side of `target`.
pub fn reaches(target: &str, limit: f64, estimate: &switchboard_results::Estimate) -> bool {
    let [low, high] = estimate.ci95.expect("replications give an interval");
    match target {
        "service_level" => high >= limit,
        _ => low <= limit,
    }
}

/// Asserts that every target `plan` claims met (per queue and interval, and every group's
/// occupancy) is reached within its 95 % interval in `figures`, a simulation of the plan with
/// another seed; returns how many targets were claimed met.
pub fn assert_claimed_met_confirmed(
    plan: &switchboard_results::staffing::StaffingPlanFile,
    figures: &Resimulated,
) -> usize {
    use switchboard_results::staffing::Verdict;
    let mut claimed = 0;
    for (queue_index, queue) in plan.queues.iter().enumerate() {
        for (interval, verified) in queue.intervals.iter().enumerate() {
            for check in &verified.checks {
                if check.verdict != Verdict::Met {
                    continue;
                }
                claimed += 1;
                let simulated = &figures.queues[queue_index][interval];
                let estimate = match check.target.as_str() {
                    "service_level" => simulated.service_level,
                    "abandon_rate" => simulated.abandon_rate,
                    _ => simulated.asa_s,
                };
                assert!(
                    reaches(&check.target, check.limit, &estimate),
                    "{} at {}: {} claimed met ({:?}), another seed gives {estimate:?}",
                    queue.name,
                    verified.interval_start,
                    check.target,
                    check.estimate
                );
            }
        }
    }
    for (group_index, group) in plan.groups.iter().enumerate() {
        for (interval, check) in group.occupancy.iter().enumerate() {
            if check.verdict != Verdict::Met {
                continue;
            }
            claimed += 1;
            let estimate = figures.occupancy[group_index][interval];
            assert!(
                reaches(&check.target, check.limit, &estimate),
                "group {} at interval {interval}: occupancy claimed met ({:?}), another seed \
                 gives {estimate:?}",
                group.name,
                check.estimate
            );
        }
    }
    claimed
}

/// The stereo recording's two channels (caller, agent), read from its WAV `data` chunk.
pub fn recording_channels(path: &Path) -> (Vec<i16>, Vec<i16>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..4], b"RIFF", "{} is not a WAV file", path.display());
    let mut offset = 12;
    while offset + 8 <= bytes.len() {
        let size = u32::from_le_bytes(bytes[offset + 4..offset + 8].try_into().unwrap()) as usize;
        if &bytes[offset..offset + 4] == b"data" {
            let data = &bytes[offset + 8..(offset + 8 + size).min(bytes.len())];
            let samples: Vec<i16> = data
                .chunks_exact(2)
                .map(|pair| i16::from_le_bytes([pair[0], pair[1]]))
                .collect();
            let left = samples.iter().step_by(2).copied().collect();
            let right = samples.iter().skip(1).step_by(2).copied().collect();
            return (left, right);
        }
        offset += 8 + size + size % 2;
    }
    panic!("{}: no data chunk", path.display());
}

/// One digest-authenticated REGISTER of `agent` (password [`AGENT_PASSWORD`], an hour's
/// expiry) by the SIPp scenario `scenario` with its `-key NAME VALUE` pairs, sent to `target`
/// (`HOST:PORT`) from `source` and run in `folder`: SIPp's exit status, or `None` if it did not
/// end within 15 s.
pub fn sipp_register(
    target: &str,
    source: (&str, u16),
    agent: &str,
    scenario: &str,
    keys: &[(&str, String)],
    folder: &Path,
) -> Option<ExitStatus> {
    require_sipp();
    let mut command = Command::new("sipp");
    command
        .arg(target)
        .args(["-sf", &sipp_file(scenario)])
        .args(["-s", agent])
        .args(["-au", agent, "-ap", AGENT_PASSWORD]);
    for (name, value) in keys {
        command.args(["-key", name, value]);
    }
    let mut register = Guard(Some(
        command
            .args(["-key", "expires", "3600"])
            .args(["-i", source.0, "-p", &source.1.to_string()])
            .args(["-m", "1", "-nostdin", "-timeout", "10", "-timeout_error"])
            .current_dir(folder)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    ));
    register.wait(Duration::from_secs(15))
}

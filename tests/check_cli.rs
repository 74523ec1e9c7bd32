//! End-to-end tests of `switchboard check`: a good file is summarised, and every kind of
//! mistake is reported with the file, line and column where it is.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Writes `text` to a file named `name` in this test target's scratch folder.
fn scenario(name: &str, text: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, text).expect("the scratch folder is writable");
    path
}

fn check(path: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("check")
        .arg(path)
        .output()
        .expect("the program runs")
}

/// Runs `check` on a file that must be rejected; returns its standard error.
fn rejected(name: &str, text: &str) -> (PathBuf, String) {
    let path = scenario(name, text);
    let output = check(&path);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(output.stdout.is_empty());
    (path, stderr)
}

#[test]
fn a_valid_file_is_summarised() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/retail-center.toml");
    let output = check(&path);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "understood 2 sites, 5 queues, 4 agent groups (29 agents), 2 rules, 1 IVR flow, 1 calendar",
        "shanghai: time zone Asia/Shanghai",
        "sales: voice, priority 2, strategy longest-idle, site shanghai",
        "skills: sales ≥ 3; languages zh",
        "at most 200 waiting; after waiting 10m a contact is turned into a callback request",
        "relax after 30s: accept proficiency 1 or better",
        "relax after 1m30s: overflow to queue sales-backup",
        // 12 + 8 agents at proficiency 4-5 plus 3 support agents at 5; then everyone.
        "agents who can serve it: at first 23, after 30s 29",
        "vip: voice, priority 5, strategy best-proficiency",
        "relax after 45s: stop requiring the languages",
        "a new contact is blocked",
        "sales-team: 12 agents (sales-team-1 … sales-team-12); skills sales 4; languages zh; site shanghai",
        "support: 3 agents (li-na … chen-jie)",
        "capacity voice 1, chat 4, email 0",
        "vip-tier: when tier = \"vip\", entering sales: route to vip",
        "anxious: when sentiment = \"anxious\", entering any queue: raise priority by 1",
        "hotline: 7 nodes, entry \"hours\"",
        "cn-retail: mon-fri 08:00-22:00, sat-sun 09:00-18:00 in the time zone of site shanghai; 2 holidays",
        "Also in the file, for the drivers: scenario",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
}

#[test]
fn a_syntax_error_names_its_line_and_column() {
    let (path, stderr) = rejected(
        "syntax.toml",
        "[[queue]]\nname = \"sales\nchannel = \"voice\"\n",
    );
    let expected = format!("{}:2:14: invalid basic string", path.display());
    assert!(stderr.starts_with(&expected), "{stderr}");
}

#[test]
fn a_wrong_type_names_its_line_and_column_and_what_was_expected() {
    let (path, stderr) = rejected(
        "wrong_type.toml",
        "[[queue]]\nname = \"sales\"\nchannel = \"voice\"\n\n[[agents]]\nname = \"team\"\ncount = \"twelve\"\n",
    );
    let expected = format!(
        "{}:7:9: invalid type: string \"twelve\", expected a whole number",
        path.display()
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
}

#[test]
fn an_unknown_key_in_a_queue_is_pointed_at_with_a_suggestion() {
    let (path, stderr) = rejected(
        "unknown_key.toml",
        "[[queue]]\nname = \"sales\"\nchannel = \"voice\"\nskils = [\"sales\"]\n",
    );
    let first_line = stderr.lines().next().unwrap();
    assert!(
        first_line.starts_with(&format!("{}:4:1: unknown field `skils`", path.display())),
        "{stderr}"
    );
    assert!(first_line.ends_with("did you mean `skills`?"), "{stderr}");
}

#[test]
fn an_unknown_top_level_table_is_pointed_at_with_a_suggestion() {
    let (path, stderr) = rejected(
        "unknown_table.toml",
        "[scenario]\nseed = 1\n\n[[queues]]\nname = \"sales\"\nchannel = \"voice\"\n\n[weather]\nrain = true\n",
    );
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("unknown top-level table"))
        .collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    let file = path.display();
    assert!(lines[0].starts_with(&format!("{file}:4:3: unknown top-level table `queues`")));
    assert!(lines[0].ends_with("did you mean `queue`?"), "{stderr}");
    assert!(lines[1].starts_with(&format!("{file}:8:2: unknown top-level table `weather`")));
    assert!(!lines[1].contains("did you mean"), "{stderr}");
    assert!(
        stderr.contains("2 problems found; nothing was run"),
        "{stderr}"
    );
}

#[test]
fn an_overflow_to_a_missing_queue_is_pointed_at_its_key() {
    let (path, stderr) = rejected(
        "missing_queue.toml",
        "[[queue]]\nname = \"sales\"\nchannel = \"voice\"\n\n[[queue]]\nname = \"support\"\nchannel = \"voice\"\nrelax = [\n  { after = \"30s\", min_proficiency = 1 },\n  { after = \"60s\", overflow = \"nowhere\" },\n]\n",
    );
    let expected = format!(
        "{}:10:20: queue[1].relax[1].overflow: no [[queue]] is named \"nowhere\"",
        path.display()
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
}

#[test]
fn an_unreachable_ivr_node_is_pointed_at_its_header() {
    let (path, stderr) = rejected(
        "unreachable_node.toml",
        "[[queue]]\nname = \"sales\"\nchannel = \"voice\"\n\n[[ivr]]\nname = \"main\"\nstart = \"join\"\n\n[[ivr.node]]\nid = \"join\"\nkind = \"queue\"\nqueue = \"sales\"\n\n[[ivr.node]]\nid = \"orphan\"\nkind = \"hangup\"\n",
    );
    let expected = format!(
        "{}:14:1: ivr[0].node[1]: node \"orphan\" cannot be reached from the start",
        path.display()
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
}

#[test]
fn every_semantic_problem_is_reported_in_one_round() {
    let (path, stderr) = rejected(
        "several_problems.toml",
        "[center]\nstart = \"yesterday\"\n\n[[queue]]\nname = \"sales\"\nchannel = \"voice\"\nskills = { sales = 9 }\nsite = \"mars\"\n",
    );
    let file = path.display();
    for expected in [
        format!("{file}:2:1: center.start: expected an RFC 3339 instant"),
        format!("{file}:7:12: queue[0].skills.sales: expected a proficiency from 1 to 5, found 9"),
        format!("{file}:8:1: queue[0].site: no [[site]] is named \"mars\""),
    ] {
        assert!(
            stderr.lines().any(|line| line.starts_with(&expected)),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert!(stderr.contains("3 problems found"), "{stderr}");
}

#[test]
fn a_missing_file_is_an_error_that_names_it() {
    let output = check(std::path::Path::new("no/such/scenario.toml"));
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("cannot read no/such/scenario.toml"),
        "{stderr}"
    );
}

#[test]
fn a_callback_due_on_a_chat_queue_or_a_queue_without_callbacks_is_pointed_at_its_key() {
    let (path, stderr) = rejected(
        "callback_due.toml",
        "[[queue]]\nname = \"chat\"\nchannel = \"chat\"\ncallback_due = { within = \"1h\" }\n\n[[queue]]\nname = \"sales\"\nchannel = \"voice\"\ncallback_due = { within = \"1h\" }\n",
    );
    let file = path.display();
    for expected in [
        format!("{file}:4:1: queue[0].callback_due: `callback_due` is for voice queues"),
        format!("{file}:9:1: queue[1].callback_due: this queue takes no callback requests"),
    ] {
        assert!(
            stderr.lines().any(|line| line.starts_with(&expected)),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert!(stderr.contains("2 problems found"), "{stderr}");
}

/// `switchboard check FILE | head -1`: once the reader has gone, the program ends by SIGPIPE
/// as other Unix tools do, not with a panic "failed printing to stdout".
#[test]
fn a_reader_that_goes_away_ends_the_program_quietly() {
    use std::os::unix::process::ExitStatusExt as _;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/retail-center.toml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("check")
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the program runs");
    // The reader goes before anything is printed: the first line already meets a closed pipe.
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("the program ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        output.status.signal(),
        Some(nix::sys::signal::Signal::SIGPIPE as i32),
        "{:?}: {stderr}",
        output.status
    );
}

//! One error style for every file a person writes: `FILE:LINE:COLUMN: what was expected`, the
//! line with a caret under the column, "did you mean" for a misspelt name, and no Rust type
//! name (`u32`, `f64`, `usize`) in the words. One row per kind of file a reader takes: a
//! scenario (`check` and `sim`), a shift file, a price book, a usage file, a forecast CSV and
//! a staffing plan CSV (an extra field too), a plan file, the live configuration, a sweep
//! file, the live secrets file, a token file, a master key file and the audit log's signer
//! and verifier keys. Files that hold secrets show their line with the secret as `*`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One bad file and the commands that must refuse it in the shared style.
struct Row {
    /// What kind of file it is, for failure messages and its scratch folder.
    kind: &'static str,
    /// The bad file's name and text.
    file: (&'static str, String),
    /// Files it refers to, written next to it.
    companions: Vec<(&'static str, String)>,
    /// The text the problem starts at (its first occurrence in the bad file).
    at: String,
    /// Words the message must hold.
    expected: String,
    /// Each command's arguments; `FILE` is the bad file's path and `DIR/x` a path in its
    /// folder.
    commands: Vec<Vec<&'static str>>,
    /// The problem's line as the message shows it, when it hides a secret.
    shown: Option<&'static str>,
}

impl Row {
    fn new(kind: &'static str, name: &'static str, text: impl Into<String>) -> Row {
        Row {
            kind,
            file: (name, text.into()),
            companions: Vec::new(),
            at: String::new(),
            expected: String::new(),
            commands: Vec::new(),
            shown: None,
        }
    }

    fn with(mut self, name: &'static str, text: impl Into<String>) -> Row {
        self.companions.push((name, text.into()));
        self
    }

    fn at(mut self, at: impl Into<String>, expected: impl Into<String>) -> Row {
        self.at = at.into();
        self.expected = expected.into();
        self
    }

    fn refused_by(mut self, arguments: &[&'static str]) -> Row {
        self.commands.push(arguments.to_vec());
        self
    }

    fn showing(mut self, line: &'static str) -> Row {
        self.shown = Some(line);
        self
    }

    /// Writes the files, runs every command, and says what is wrong with each refusal.
    fn problems(&self) -> Vec<String> {
        let folder = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("error-style")
            .join(self.kind.replace(' ', "-"));
        let _ = std::fs::remove_dir_all(&folder);
        std::fs::create_dir_all(&folder).unwrap();
        for (name, text) in self.companions.iter().chain([&self.file]) {
            std::fs::write(folder.join(name), text).unwrap();
        }
        let file = folder.join(self.file.0);
        let (line, column) = place_of(&self.file.1, &self.at);
        let source_line = self
            .shown
            .unwrap_or_else(|| self.file.1.lines().nth(line - 1).unwrap());
        let mut problems = Vec::new();
        for command in &self.commands {
            let arguments: Vec<PathBuf> = command
                .iter()
                .map(|argument| match *argument {
                    "FILE" => file.clone(),
                    other => match other.strip_prefix("DIR/") {
                        Some(name) => folder.join(name),
                        None => PathBuf::from(other),
                    },
                })
                .collect();
            let error = refused(&arguments);
            if let Err(problem) =
                error_style(&error, &file, line, column, source_line, &self.expected)
            {
                problems.push(format!("{} ({command:?}): {problem}", self.kind));
            }
        }
        problems
    }
}

/// The standard error of a command that must fail.
fn refused(arguments: &[PathBuf]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(arguments)
        .env_remove("SWITCHBOARD_TOKEN")
        .output()
        .expect("switchboard runs");
    let error = String::from_utf8(output.stderr).unwrap();
    assert!(!output.status.success(), "{arguments:?} should fail");
    error
}

/// Whether `error` points at `file`:`line`:`column`, says `expected`, shows `source_line`
/// with a caret under `column`, and names no Rust type.
fn error_style(
    error: &str,
    file: &Path,
    line: usize,
    column: usize,
    source_line: &str,
    expected: &str,
) -> Result<(), String> {
    let place = format!("{}:{line}:{column}: ", file.display());
    let start = error
        .find(&place)
        .ok_or_else(|| format!("{place} in:\n{error}"))?;
    let message = &error[start..];
    if !message.contains(expected) {
        return Err(format!("{expected:?} in:\n{message}"));
    }
    let number = line.to_string();
    let padding = " ".repeat(number.len());
    let caret = " ".repeat(column - 1);
    let snippet = format!("\n{padding} |\n{number} | {source_line}\n{padding} | {caret}^");
    if !message.contains(&snippet) {
        return Err(format!("{snippet:?} in:\n{message}"));
    }
    let type_names = [
        "u8", "u16", "u32", "u64", "usize", "i32", "i64", "f32", "f64", "struct",
    ];
    match message
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find(|word| type_names.contains(word))
    {
        Some(type_name) => Err(format!("{type_name} in:\n{message}")),
        None => Ok(()),
    }
}

fn base_scenario() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/mmc.toml"))
        .unwrap()
}

/// The line and column (from 1) where `needle` starts in `text`.
fn place_of(text: &str, needle: &str) -> (usize, usize) {
    let offset = text.find(needle).expect("the needle is in the text");
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |newline| newline + 1) + 1;
    (line, column)
}

/// A usage file with its first key misspelt, and that key.
fn misspelt_usage() -> (String, String) {
    let usage = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/usage/flat-small-shop.toml"),
    )
    .unwrap();
    let (key, _) = usage
        .lines()
        .find_map(|line| line.split_once(" = "))
        .expect("a key in the usage file");
    let text = usage.replacen(&format!("{key} = "), &format!("{key}x = "), 1);
    (text, key.to_string())
}

fn rows() -> Vec<Row> {
    let plan_csv = "start,agents,staff\n0s,1,2\n30m,1,2\n";
    let shifts = ["plan", "schedule", "DIR/plan.csv", "--shifts", "FILE"];
    let (usage, usage_key) = misspelt_usage();
    // The command line of `recording export` around its token file.
    let export = [
        "recording",
        "export",
        "DIR/call.wav.sbenc",
        "--keys",
        "DIR/keys.toml",
        "--tokens",
        "FILE",
        "--audit",
        "DIR/audit",
        "--audit-key",
        "DIR/audit.key",
        "--reason",
        "complaint",
        "--out",
        "DIR/exports",
    ];
    vec![
        Row::new(
            "scenario",
            "misspelt.toml",
            base_scenario().replacen("[[queue]]\n", "[[queue]]\nskils = [\"sales\"]\n", 1),
        )
        .at("skils", "did you mean `skills`?")
        .refused_by(&["check", "FILE"])
        .refused_by(&["sim", "FILE"]),
        Row::new(
            "scenario value",
            "wrong-type.toml",
            base_scenario() + "\n[[people]]\nagents = \"sales-team\"\nno_answer = \"often\"\n",
        )
        .at("\"often\"", "expected a number")
        .refused_by(&["sim", "FILE"]),
        Row::new(
            "shift file",
            "shifts.toml",
            "[[shift]]\nname = \"early\"\nstarts = [\"0h\"]\nlenght = \"8h\"\n",
        )
        .with("plan.csv", plan_csv)
        .at("lenght", "did you mean `length`?")
        .refused_by(&shifts),
        // A problem of meaning, at the template's name.
        Row::new(
            "shift meaning",
            "shifts.toml",
            "[[shift]]\nname = \"early\"\nstarts = [\"0h\"]\nlength = \"0s\"\n",
        )
        .with("plan.csv", plan_csv)
        .at("\"early\"", "length must be above 0 s")
        .refused_by(&shifts),
        Row::new(
            "price book",
            "book.toml",
            "name = \"x\"\nkind = \"saas\"\ncurrency = \"USD\"\n[[item]]\nkind = \"named_seat\"\nprice = -1\nsource = \"s\"\n",
        )
        .at("-1", "expected a price of zero or more")
        .refused_by(&[
            "cost",
            "scenarios/usage/flat-small-shop.toml",
            "--pricebook",
            "FILE",
        ]),
        Row::new("usage file", "usage.toml", usage)
            .at(
                format!("{usage_key}x = "),
                format!("did you mean `{usage_key}`?"),
            )
            .refused_by(&["cost", "FILE"]),
        Row::new("forecast CSV", "forecast.csv", "start,volume\n0m,8\n30m,lots\n")
            .at("lots", "expected a volume")
            .refused_by(&["plan", "staff", "FILE", "--aht", "3m", "--sl", "80/20"]),
        Row::new("forecast CSV extra field", "forecast.csv", "start,volume\n0m,8,9\n30m,8\n")
            .at("9\n", "a field beyond the header's 2 columns (start,volume)")
            .refused_by(&["plan", "staff", "FILE", "--aht", "3m", "--sl", "80/20"]),
        Row::new(
            "staffing plan CSV",
            "plan.csv",
            "start,agents,staff\n0s,1,2,3\n30m,1,2\n",
        )
        .with(
            "shifts.toml",
            "[[shift]]\nname = \"early\"\nstarts = [\"0h\"]\nlength = \"8h\"\n",
        )
        .at("3\n", "a field beyond the header's 3 columns (start,agents,staff)")
        .refused_by(&["plan", "schedule", "FILE", "--shifts", "DIR/shifts.toml"]),
        Row::new("plan file", "group-plan.csv", "start,agents\n0s,10\n4h,11,7\n")
            .with(
                "planned.toml",
                base_scenario()
                    + "\n[[people]]\nagents = \"sales-team\"\nplan_file = \"group-plan.csv\"\n",
            )
            .at("7\n", "a field beyond the header's 2 columns")
            .refused_by(&["sim", "DIR/planned.toml", "--replications", "1"]),
        Row::new(
            "live configuration",
            "live.toml",
            base_scenario() + "\n[live]\nauto_redy = true\n",
        )
        .at("auto_redy", "did you mean `auto_ready`?")
        .refused_by(&["serve", "FILE"]),
        Row::new(
            "sweep file",
            "sweep.toml",
            "[sweep]\nscenario = \"mmc.toml\"\nsed = 3\n[grid]\nagents.sales-team.count = [10, 12]\n",
        )
        .with("mmc.toml", base_scenario())
        .at("sed", "did you mean `seed`?")
        .refused_by(&["sweep", "FILE", "--out", "DIR/results"]),
        Row::new(
            "live secrets file",
            "secrets.toml",
            "realm = \"switchboard\"\n[agents.sales-team-1]\nmd5 = \"hunter2\"\n",
        )
        .with(
            "center.toml",
            base_scenario() + "\n[live]\nsecrets = \"secrets.toml\"\n",
        )
        .at("\"hunter2\"", "expected 32 hex digits (the HA1, never the password)")
        .showing("md5 = \"*******\"")
        .refused_by(&[
            "serve",
            "DIR/center.toml",
            "--sip",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--data",
            "DIR/data",
        ]),
        Row::new(
            "token file",
            "tokens.toml",
            "[[user]]\nname = \"carol\"\nrole = \"auditer\"\ntoken_hash = \"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA\"\n",
        )
        .at("\"auditer\"", "did you mean `auditor`?")
        .refused_by(&export),
        Row::new(
            "master key file",
            "keys.toml",
            "current = \"2026-11\"\n[[key]]\nid = \"2026-11\"\naes256 = \"c2hvcnQ=\"\n",
        )
        .with("call.wav", "RIFF")
        .at("\"c2hvcnQ=\"", "aes256 must be the base64 of 32 bytes")
        .showing("aes256 = \"********\"")
        .refused_by(&[
            "recording",
            "encrypt",
            "DIR/call.wav",
            "--keys",
            "FILE",
            "--out",
            "DIR/store",
        ]),
        Row::new(
            "audit signer key",
            "audit.key",
            "PRIVATE+KEY+audit.test/center+zz+AXNlY3JldA==\n",
        )
        .at("zz", "the key ID \"zz\" is not 8 hex digits")
        .showing("PRIVATE+KEY+audit.test/center+zz+************")
        .refused_by(&[
            "retention",
            "sweep",
            "DIR/recordings",
            "--recordings",
            "180d",
            "--transcripts",
            "90d",
            "--audit",
            "DIR/audit",
            "--audit-key",
            "FILE",
        ]),
        Row::new("audit verifier key", "audit.pub", "audit.test/center+1234+AXB1YmxpYw==\n")
            .at("1234", "the key ID \"1234\" is not 8 hex digits")
            .showing("audit.test/center+1234+************")
            .refused_by(&["audit", "verify", "DIR/audit", "--key", "FILE"]),
    ]
}

#[test]
fn every_file_a_person_writes_is_refused_in_one_style() {
    let rows = rows();
    let problems: Vec<String> = rows.iter().flat_map(Row::problems).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    assert!(rows.iter().all(|row| !row.commands.is_empty()));
}

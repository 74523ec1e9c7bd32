//! `switchboard token`, `switchboard recording` and `switchboard retention`: the command-line
//! side of roles and tokens, encryption at rest and retention (docs/compliance.md).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use switchboard_compliance::at_rest::{content_type_of, export_name, read_header, Keyring};
use switchboard_compliance::audit::{AuditLog, AuditOptions};
use switchboard_compliance::guard::Guard;
use switchboard_compliance::mask::Masker;
use switchboard_compliance::note::NoteSigner;
use switchboard_compliance::retention::{sweep, RetentionPolicy};
use switchboard_compliance::roles::{
    new_token, with_user, Action, HashCost, Place, Role, Tokens, UserEntry,
};
use switchboard_engine::units::DurationMs;
use switchboard_media::recording_file::complete_streamed_wav;

use crate::audit_command::write_secret;
use crate::terminal::{out_folder, refuse_file_out};

/// Users and their tokens (hashed at rest with Argon2id).
#[derive(clap::Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
}

#[derive(clap::Subcommand)]
pub enum TokenCommand {
    Add(TokenAddArgs),
}

/// Make a token for a user, print it once, and store only its hash in the token file (a user
/// of the same name gets a new token; the old one stops working).
#[derive(clap::Args)]
#[command(after_help = "Examples:
  switchboard token add tokens.toml --user alice --role supervisor --queue sales --queue vip
  switchboard token add tokens.toml --user sales-team-1 --role agent --agent sales-team-1
  switchboard token add tokens.toml --user carol --role auditor --site shanghai")]
pub struct TokenAddArgs {
    /// The token file (created if missing).
    pub file: PathBuf,
    #[arg(long)]
    pub user: String,
    /// agent, supervisor, admin or auditor.
    #[arg(long, value_parser = parse_role)]
    pub role: Role,
    /// Limit the user to these sites (repeat the option); every site without it.
    #[arg(long = "site")]
    pub sites: Vec<String>,
    /// Limit the user to these queues (repeat the option); every queue without it.
    #[arg(long = "queue")]
    pub queues: Vec<String>,
    /// For the agent role: which agent the user is.
    #[arg(long)]
    pub agent: Option<String>,
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::ALL
        .into_iter()
        .find(|role| role.name() == text)
        .ok_or_else(|| format!("expected agent, supervisor, admin or auditor, found {text:?}"))
}

/// Encrypted recordings and transcripts: keys, encryption, export.
#[derive(clap::Args)]
pub struct RecordingArgs {
    #[command(subcommand)]
    pub command: RecordingCommand,
}

#[derive(clap::Subcommand)]
pub enum RecordingCommand {
    /// Make a master key file (`new`), or add a key and make it current (`rotate`).
    Keys(KeysArgs),
    Encrypt(EncryptArgs),
    Export(ExportArgs),
    Rewrap(RewrapArgs),
}

#[derive(clap::Args)]
#[command(after_help = "Examples:
  switchboard recording keys new /etc/switchboard/keys.toml --id 2026-11
  switchboard recording keys rotate /etc/switchboard/keys.toml --id 2027-05")]
pub struct KeysArgs {
    /// new or rotate.
    pub what: String,
    pub file: PathBuf,
    /// The new key's ID (a date is a good one).
    #[arg(long)]
    pub id: String,
}

/// Encrypt a file at rest under the key file's current master key: INPUT's name with
/// `.sbenc` added, in the folder `--out`.
#[derive(clap::Args)]
#[command(after_help = "Example:
  switchboard recording encrypt call-42.wav --keys keys.toml --out /var/lib/switchboard/recordings
  #   /var/lib/switchboard/recordings/call-42.wav.sbenc")]
pub struct EncryptArgs {
    pub input: PathBuf,
    #[arg(long)]
    pub keys: PathBuf,
    /// The folder that gets the encrypted file (made if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// audio/wav for recordings, text/plain for transcripts (guessed from the extension).
    #[arg(long)]
    pub content_type: Option<String>,
    /// When it was made, in milliseconds since 1970 (now by default): retention counts from it.
    #[arg(long)]
    pub created_unix_ms: Option<i64>,
}

/// Decrypt a recording or transcript for an authorised token, with a reason; the export (or
/// its refusal) is appended to the audit log. The file gets the name it had when it was
/// encrypted, in the folder `--out`. Transcripts are exported with personal data masked.
#[derive(clap::Args)]
#[command(after_help = "Example:
  SWITCHBOARD_TOKEN=sb1.carol.... switchboard recording export call-42.wav.sbenc \\
      --keys keys.toml --tokens tokens.toml --audit /var/lib/switchboard/audit \\
      --audit-key audit.key --reason 'complaint 2026-118' --out exports
  #   exports/call-42.wav

  Only the auditor role exports, and only with a reason. The token is read from the
  SWITCHBOARD_TOKEN environment variable or --token-file, never from the command line.")]
pub struct ExportArgs {
    pub file: PathBuf,
    #[arg(long)]
    pub keys: PathBuf,
    #[arg(long)]
    pub tokens: PathBuf,
    /// A file holding the token (instead of SWITCHBOARD_TOKEN).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// The audit log folder.
    #[arg(long)]
    pub audit: PathBuf,
    /// The audit log's signer key file.
    #[arg(long)]
    pub audit_key: PathBuf,
    /// Why the recording is exported (recorded in the audit log).
    #[arg(long)]
    pub reason: Option<String>,
    /// The folder that gets the decrypted file (made if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// The site the recording belongs to, for scoped auditors.
    #[arg(long)]
    pub site: Option<String>,
    /// The queue the recording belongs to, for scoped auditors.
    #[arg(long)]
    pub queue: Option<String>,
}

/// Wrap every encrypted file under a folder with the key file's current master key (after
/// `keys rotate`); only headers change.
#[derive(clap::Args)]
pub struct RewrapArgs {
    pub folder: PathBuf,
    #[arg(long)]
    pub keys: PathBuf,
}

/// Delete encrypted recordings and transcripts older than their retention time; each
/// deletion is audited.
#[derive(clap::Args)]
#[command(after_help = "Example:
  switchboard retention sweep /var/lib/switchboard/recordings --recordings 180d --transcripts 90d \\
      --audit /var/lib/switchboard/audit --audit-key audit.key")]
pub struct RetentionArgs {
    /// sweep
    pub what: String,
    pub folder: PathBuf,
    #[arg(long)]
    pub recordings: DurationMs,
    #[arg(long)]
    pub transcripts: DurationMs,
    #[arg(long)]
    pub audit: PathBuf,
    #[arg(long)]
    pub audit_key: PathBuf,
}

fn now_unix_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn open_audit(folder: &Path, key: &Path) -> anyhow::Result<AuditLog> {
    let signer = NoteSigner::load(key).map_err(|problem| anyhow!("{problem}"))?;
    AuditLog::open(folder, signer, AuditOptions::default()).map_err(|problem| anyhow!("{problem}"))
}

fn load_keys(path: &Path) -> anyhow::Result<Keyring> {
    Keyring::load(path).map_err(|problem| anyhow!("{problem}"))
}

/// Write through a temporary file in the same folder and rename.
fn replace_file(path: &Path, text: &str, secret: bool) -> anyhow::Result<()> {
    let temporary = path.with_extension("new");
    let _ = std::fs::remove_file(&temporary);
    if secret {
        write_secret(&temporary, text)?;
    } else {
        std::fs::write(&temporary, text)
            .with_context(|| format!("cannot write {}", temporary.display()))?;
    }
    std::fs::rename(&temporary, path).with_context(|| format!("cannot replace {}", path.display()))
}

pub fn run_token(args: TokenArgs) -> anyhow::Result<ExitCode> {
    let TokenCommand::Add(args) = args.command;
    let existing = match std::fs::read_to_string(&args.file) {
        Ok(text) => text,
        Err(problem) if problem.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(problem) => bail!("cannot read {}: {problem}", args.file.display()),
    };
    let entry = UserEntry {
        name: args.user,
        role: args.role,
        sites: (!args.sites.is_empty()).then_some(args.sites),
        queues: (!args.queues.is_empty()).then_some(args.queues),
        agent: args.agent,
        token_hash: String::new(),
    };
    let (token, entry) =
        new_token(entry, HashCost::default()).map_err(|problem| anyhow!("{problem}"))?;
    let text = with_user(&existing, &args.file.display().to_string(), entry)
        .map_err(|problem| anyhow!("{problem}"))?;
    replace_file(&args.file, &text, true)?;
    println!("{token}");
    eprintln!(
        "the token is shown once; {} holds only its hash",
        args.file.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn run_recording(args: RecordingArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        RecordingCommand::Keys(args) => run_keys(args),
        RecordingCommand::Encrypt(args) => run_encrypt(args),
        RecordingCommand::Export(args) => run_export(args),
        RecordingCommand::Rewrap(args) => run_rewrap(args),
    }
}

fn run_keys(args: KeysArgs) -> anyhow::Result<ExitCode> {
    match args.what.as_str() {
        "new" => {
            let keys = Keyring::generate(&args.id);
            write_secret(&args.file, &keys.to_text())?;
        }
        "rotate" => {
            let mut keys = load_keys(&args.file)?;
            keys.rotate(&args.id)
                .map_err(|problem| anyhow!("{problem}"))?;
            replace_file(&args.file, &keys.to_text(), true)?;
            eprintln!(
                "{} is now current; run `switchboard recording rewrap FOLDER --keys {}` before removing older keys",
                args.id,
                args.file.display()
            );
        }
        other => bail!("expected `keys new` or `keys rotate`, found `keys {other}`"),
    }
    println!("{}", args.file.display());
    Ok(ExitCode::SUCCESS)
}

fn run_encrypt(args: EncryptArgs) -> anyhow::Result<ExitCode> {
    let keys = load_keys(&args.keys)?;
    let content_type = args
        .content_type
        .unwrap_or_else(|| content_type_of(&args.input).to_string());
    let name = args
        .input
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    out_folder(&args.out, "INPUT's name with .sbenc added")?;
    let encrypted = args.out.join(format!("{name}.sbenc"));
    let mut input = std::fs::File::open(&args.input)
        .with_context(|| format!("cannot open {}", args.input.display()))?;
    let temporary = partial_path(&encrypted);
    let out = std::fs::File::create(&temporary)
        .with_context(|| format!("cannot create {}", temporary.display()))?;
    let mut writer = keys
        .encrypt_to(
            out,
            &name,
            &content_type,
            args.created_unix_ms.unwrap_or_else(now_unix_ms),
        )
        .map_err(|problem| anyhow!("{problem}"))?;
    std::io::copy(&mut input, &mut writer).context("cannot encrypt")?;
    let file = writer.finish().map_err(|problem| anyhow!("{problem}"))?;
    file.sync_all().context("cannot sync")?;
    std::fs::rename(&temporary, &encrypted)
        .with_context(|| format!("cannot write {}", encrypted.display()))?;
    println!("{}", encrypted.display());
    Ok(ExitCode::SUCCESS)
}

fn read_token(token_file: Option<&Path>) -> anyhow::Result<String> {
    match token_file {
        Some(path) => Ok(std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .trim()
            .to_string()),
        None => std::env::var("SWITCHBOARD_TOKEN")
            .map(|token| token.trim().to_string())
            .map_err(|_| anyhow!("no token: set SWITCHBOARD_TOKEN or pass --token-file")),
    }
}

/// Where a file is written before it is renamed into place: `PATH.partial`.
fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

fn run_export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    refuse_file_out(&args.out, "the decrypted file, under the name it had")?;
    let tokens = Tokens::load(&args.tokens).map_err(|problem| anyhow!("{problem}"))?;
    let keys = load_keys(&args.keys)?;
    let token = read_token(args.token_file.as_deref())?;
    let guard = Guard::new(tokens, open_audit(&args.audit, &args.audit_key)?);
    let queues: Vec<&str> = args.queue.as_deref().into_iter().collect();
    let action = Action::ExportRecording {
        place: Place {
            site: args.site.as_deref(),
            queues: &queues,
        },
        reason: args.reason.as_deref(),
    };
    let target = format!("recording/{}", args.file.display());
    // The export is audited once tried, so that its record says whether the file was given
    // out: a key file that does not decrypt it is a failed export, not an allowed one.
    let principal = match guard.check_before_trying(Some(&token), action, &target, now_unix_ms()) {
        Ok(principal) => principal,
        Err(refusal) => {
            guard.close().map_err(|problem| anyhow!("{problem}"))?;
            eprintln!(
                "error: refused ({}): {}; the refusal is in the audit log",
                refusal.status(),
                refusal.message()
            );
            return Ok(ExitCode::from(3));
        }
    };
    let decrypted = decrypt_for_export(&args, &keys);
    let failure = decrypted
        .as_ref()
        .err()
        .map(|problem| format!("{problem:#}"));
    let audited = guard.report_carried_out(
        &principal,
        action,
        &target,
        failure.as_deref(),
        now_unix_ms(),
    );
    let closed = guard.close().map_err(|problem| anyhow!("{problem}"));
    let (temporary, exported) =
        decrypted.context("nothing was exported; the failed export is in the audit log")?;
    // Given out only once audited: a record that cannot be written keeps the file back.
    let given_out = audited
        .map_err(|refusal| anyhow!("{}", refusal.message()))
        .and(closed.map(|_| ()))
        .and_then(|()| Ok(std::fs::rename(&temporary, &exported)?));
    if let Err(problem) = given_out {
        let _ = std::fs::remove_file(&temporary);
        return Err(problem);
    }
    println!("{}", exported.display());
    Ok(ExitCode::SUCCESS)
}

/// Decrypt the export's file into `PATH.partial` beside where it goes: (partial, final path).
/// Nothing is left behind when it fails (a wrong key, a damaged file).
fn decrypt_for_export(args: &ExportArgs, keys: &Keyring) -> anyhow::Result<(PathBuf, PathBuf)> {
    let header = read_header(&args.file).map_err(|problem| anyhow!("{problem}"))?;
    let input = std::fs::File::open(&args.file)
        .with_context(|| format!("cannot open {}", args.file.display()))?;
    let mut reader = keys
        .decrypt_from(std::io::BufReader::new(input))
        .map_err(|problem| anyhow!("{}: {problem}", args.file.display()))?;
    out_folder(&args.out, "the decrypted file, under the name it had")?;
    let exported = args.out.join(export_name(&header.body.name, &args.file));
    let temporary = partial_path(&exported);
    let result = (|| -> anyhow::Result<()> {
        let mut out = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temporary)
            .with_context(|| format!("cannot create {}", temporary.display()))?;
        if header.body.content_type.starts_with("text/") {
            // Transcripts leave with personal data masked.
            let mut text = String::new();
            std::io::Read::read_to_string(&mut reader, &mut text)
                .with_context(|| format!("{}", args.file.display()))?;
            out.write_all(Masker::all().mask(&text).as_bytes())?;
        } else {
            std::io::copy(&mut reader, &mut out)
                .with_context(|| format!("{}", args.file.display()))?;
            if header.body.content_type == "audio/wav" {
                // A recording `serve` streamed has placeholder sizes: the real ones go in now.
                complete_streamed_wav(&mut out)
                    .with_context(|| format!("cannot complete {}", temporary.display()))?;
            }
        }
        out.sync_all()?;
        Ok(())
    })();
    match result {
        Ok(()) => Ok((temporary, exported)),
        Err(problem) => {
            let _ = std::fs::remove_file(&temporary);
            Err(problem)
        }
    }
}

fn run_rewrap(args: RewrapArgs) -> anyhow::Result<ExitCode> {
    let keys = load_keys(&args.keys)?;
    let mut rewrapped = 0;
    let mut current = 0;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&args.folder)
        .with_context(|| format!("cannot list {}", args.folder.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_file() && read_header(path).is_ok())
        .collect();
    entries.sort();
    for path in entries {
        if keys.rewrap(&path).map_err(|problem| anyhow!("{problem}"))? {
            rewrapped += 1;
        } else {
            current += 1;
        }
    }
    println!(
        "{rewrapped} files re-wrapped under {}, {current} already under it",
        keys.current_id()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn run_retention(args: RetentionArgs) -> anyhow::Result<ExitCode> {
    if args.what != "sweep" {
        bail!(
            "expected `retention sweep`, found `retention {}`",
            args.what
        );
    }
    let mut audit = open_audit(&args.audit, &args.audit_key)?;
    let policy = RetentionPolicy {
        recordings: args.recordings,
        transcripts: args.transcripts,
    };
    let report = sweep(&args.folder, policy, now_unix_ms(), &mut audit)
        .map_err(|problem| anyhow!("{problem}"))?;
    audit.close().map_err(|problem| anyhow!("{problem}"))?;
    for path in &report.deleted {
        println!("deleted {}", path.display());
    }
    for (path, why) in &report.skipped {
        eprintln!("skipped {}: {why}", path.display());
    }
    println!(
        "{} deleted, {} kept, {} skipped",
        report.deleted.len(),
        report.kept,
        report.skipped.len()
    );
    Ok(ExitCode::SUCCESS)
}

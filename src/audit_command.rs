//! `switchboard audit`: check an audit log folder (`verify`) and make its signing key
//! (`keygen`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use switchboard_compliance::audit::verify;
use switchboard_compliance::note::{NoteSigner, NoteVerifier};

/// The tamper-evident audit log: check its chain and signed checkpoints, make its key.
#[derive(clap::Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    Verify(VerifyArgs),
    Keygen(KeygenArgs),
}

/// Check every record's hash chain and every signed checkpoint of an audit log folder; name
/// the first record that cannot be trusted. Exit status 0 when the log is intact, 1 when it
/// is not.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  switchboard audit verify /var/lib/switchboard/audit --key audit.pub
  switchboard audit verify audit --key audit.pub --checkpoint copy-of-checkpoint

  Keep the verifier key and copies of checkpoints away from the machine that writes the log:
  whoever can write the folder could replace both. docs/compliance.md describes the format.")]
pub struct VerifyArgs {
    /// The audit log folder (log.jsonl, checkpoint, checkpoints/).
    pub folder: PathBuf,
    /// The verifier key file (NAME+KEYID+BASE64, as `audit keygen` writes it).
    #[arg(long)]
    pub key: PathBuf,
    /// A checkpoint kept elsewhere: the log must still hold every record it counts.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
}

/// Make an Ed25519 key for signing checkpoints: FOLDER/audit.key (secret, mode 0600) and
/// FOLDER/audit.pub (the verifier key), in the encodings of Go's sumdb/note package.
#[derive(clap::Args)]
#[command(after_help = "Example:
  switchboard audit keygen --name audit.bank.example/shanghai --out /etc/switchboard

  An existing audit.key is never overwritten.")]
pub struct KeygenArgs {
    /// The key name, which is also the log's origin line: a schema-less URL is recommended.
    #[arg(long)]
    pub name: String,
    /// The folder that gets audit.key and audit.pub (made if missing).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        AuditCommand::Verify(args) => run_verify(args),
        AuditCommand::Keygen(args) => run_keygen(args),
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn run_verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let key = NoteVerifier::load(&args.key).map_err(|problem| anyhow!("{problem}"))?;
    let external = args.checkpoint.as_deref().map(read).transpose()?;
    match verify(&args.folder, &key, external.as_deref()) {
        Ok(report) => {
            println!(
                "{}: intact: {} records, {} signed checkpoints, the newest covering {} records ({} after it protected by the chain only)",
                args.folder.display(),
                report.records,
                report.checkpoints,
                report.checkpointed,
                report.records.saturating_sub(report.checkpointed)
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(failure) => {
            println!("{}: BROKEN: {failure}", args.folder.display());
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Write a secret file readable by its owner only, refusing to overwrite one.
pub fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn run_keygen(args: KeygenArgs) -> anyhow::Result<ExitCode> {
    let signer = NoteSigner::generate(&args.name).map_err(|problem| anyhow!("{problem}"))?;
    crate::terminal::out_folder(&args.out, "audit.key and audit.pub")?;
    let private = args.out.join("audit.key");
    let public = args.out.join("audit.pub");
    write_secret(&private, &format!("{}\n", signer.to_private_text()))?;
    std::fs::write(&public, format!("{}\n", signer.verifier().to_text()))
        .with_context(|| format!("cannot write {}", public.display()))?;
    println!("{}", private.display());
    println!("{}", public.display());
    Ok(ExitCode::SUCCESS)
}

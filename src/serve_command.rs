//! `switchboard serve SCENARIO`: answer real calls with the engine (the live runtime).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use std::sync::Arc;

use anyhow::{anyhow, Context};
use switchboard_compliance::audit::{AuditLog, AuditOptions};
use switchboard_compliance::guard::Guard;
use switchboard_compliance::mask::Masker;
use switchboard_compliance::note::NoteSigner;
use switchboard_compliance::retention::RetentionPolicy;
use switchboard_compliance::roles::Tokens;
use switchboard_engine::Center;
use switchboard_live::access::{Access, Places};
use switchboard_live::auth::{Authenticator, Secrets};
use switchboard_live::cdr::CdrWriter;
use switchboard_live::config::ScenarioLive;
use switchboard_live::http::ApiSettings;
use switchboard_live::media::{MediaDriver, MediaSettings};
use switchboard_live::media_plane::{AudioLibrary, MediaPlane};
use switchboard_live::recording_store::RecordingStore;
use switchboard_live::runtime::{run_switch_observed, LoopOptions, SwitchHandle};
use switchboard_live::sip::transport::Transport;
use switchboard_live::streams::{StreamSettings, Streams};
use switchboard_live::switch::{CallerEvent, Switch};

/// Answer real calls: a SIP B2BUA and registrar over UDP, an HTTP API and a CDR store around
/// the engine. Agents register as sip:AGENT-ID@SIP-ADDRESS; trunk INVITEs to sip:ENTRY@...
/// where ENTRY is a queue, an IVR flow, or a DID listed in [live.entry_points].
#[derive(clap::Args)]
#[command(after_help = "Example:
  switchboard serve scenarios/live-center.toml --sip 127.0.0.1:5060 --http 127.0.0.1:8080 --data ./switchboard-data

  Agent phones REGISTER sip:sales-team-1@127.0.0.1 with digest credentials from the [live] secrets
  file (SHA-256 or MD5); a trunk INVITEs sip:sales@127.0.0.1:5060 (or the DID sip:4000@...).
  SIP over TCP and TLS as well: --sip-tcp 127.0.0.1:5060 --sip-tls 127.0.0.1:5061 (TLS needs the
  certificate files of [live.tls]); a phone that registers over TCP or TLS is called back on it.
  curl -H 'Authorization: Bearer change-me' http://127.0.0.1:8080/agents
  curl -H 'Authorization: Bearer change-me' -X POST http://127.0.0.1:8080/agents/sales-team-1/ready
  Every [live] key is in docs/live.md. Logs go to stderr (RUST_LOG=debug for more; colours only
  on a terminal and without NO_COLOR). Ctrl-C or SIGTERM stops it after writing every CDR.")]
pub struct ServeArgs {
    /// The scenario file (TOML): the center, and a [live] table for entry points and the token.
    pub scenario: PathBuf,
    /// UDP address for SIP.
    #[arg(long, default_value = "127.0.0.1:5060")]
    pub sip: SocketAddr,
    /// TCP address for SIP (none by default).
    #[arg(long)]
    pub sip_tcp: Option<SocketAddr>,
    /// TLS address for SIP, with the certificate of [live.tls] (none by default).
    #[arg(long)]
    pub sip_tls: Option<SocketAddr>,
    /// TCP address for the HTTP API.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
    /// Folder for the CDR database (cdr.sqlite).
    #[arg(long, default_value = "switchboard-data")]
    pub data: PathBuf,
    /// Also write the engine's routing decisions to FILE, one JSON line each with the caller
    /// of its contact (the format of docs/agreement.md), as they are made.
    #[arg(long, value_name = "FILE")]
    pub decisions: Option<PathBuf>,
    /// Run the live clock RATE times as fast as the wall clock (a replay's time scale, see
    /// docs/agreement.md; 1 is real time). Needs [live.media] anchor = false.
    #[arg(long, default_value_t = 1.0, value_name = "RATE")]
    pub clock_rate: f64,
    /// Read the live clock on a grid of MS milliseconds (a replay's quantum, see
    /// docs/agreement.md; 0 is none).
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub clock_quantum_ms: u64,
    /// Live time 0 is this wall-clock instant, in milliseconds since 1970 (a replay's start;
    /// by default the moment the server starts). Until then the clock reads 0.
    #[arg(long, value_name = "UNIX_MS")]
    pub epoch_unix_ms: Option<i64>,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.scenario)
        .with_context(|| format!("cannot read {}", args.scenario.display()))?;
    // The shared loader reports every problem with its line and column.
    let (mut config, _) = crate::scenario_file::load_center(&text)
        .map_err(|errors| anyhow!(errors.render(&args.scenario)))?;
    let live = toml::from_str::<ScenarioLive>(&text)
        .map_err(|error| {
            anyhow!(crate::scenario_file::toml_problem(
                &args.scenario,
                &text,
                &error
            ))
        })?
        .live;
    live.check()
        .map_err(|problem| anyhow!("{}: {problem}", args.scenario.display()))?;
    // Logging starts once the masking of personal data in log lines is known.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only for a person at a terminal: never in a log file, never with NO_COLOR set
    // (https://no-color.org, any value but the empty string).
    let colours = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && !matches!(std::env::var_os("NO_COLOR"), Some(value) if !value.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_writer(MaskedStderr(Masker::new(&live.compliance.mask)))
        .with_ansi(colours)
        .with_env_filter(filter)
        .try_init();
    let authenticator = load_authenticator(&args.scenario, &live)?;
    let faq_bot = load_faq_bot(&args.scenario, &live)?;
    let recordings = recording_store(&args.scenario, &text, &live)?;
    let crm = crm_settings(&args.scenario, &text, &live)?;
    if !(args.clock_rate > 0.0 && args.clock_rate.is_finite()) {
        return Err(anyhow!("--clock-rate must be a number above 0"));
    }
    if args.clock_rate != 1.0 && live.media.anchor {
        return Err(anyhow!(
            "{}: --clock-rate needs [live.media] anchor = false (media keeps real time)",
            args.scenario.display()
        ));
    }
    let tls = load_tls(&args, &live)?;
    // Live time 0 is now (or the given epoch), so business hours are evaluated against the
    // real clock.
    let started_at = match args.epoch_unix_ms {
        Some(unix_ms) => jiff::Timestamp::from_millisecond(unix_ms)
            .map_err(|error| anyhow!("--epoch-unix-ms: {error}"))?,
        None => jiff::Timestamp::now(),
    };
    config.center.start = started_at.to_string();
    let audio = if live.media.anchor {
        // Prompts that name WAV files, relative to the scenario's folder.
        let base = args
            .scenario
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        let prompts = config.ivr.iter().enumerate().flat_map(|(flow, ivr)| {
            ivr.nodes
                .iter()
                .enumerate()
                .filter_map(move |(node, config)| {
                    config.prompt().map(|prompt| {
                        (
                            (
                                switchboard_engine::FlowId(flow as u32),
                                switchboard_engine::NodeId(node as u32),
                            ),
                            prompt,
                        )
                    })
                })
        });
        Some(
            AudioLibrary::load(&base, prompts, &live.media)
                .map_err(|problem| anyhow!("{}: {problem}", args.scenario.display()))?,
        )
    } else {
        None
    };
    let center =
        Center::new(config).map_err(|error| anyhow!("{}: {error}", args.scenario.display()))?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(
        args,
        center,
        live,
        MediaFiles { audio, recordings },
        SwitchParts {
            authenticator,
            faq_bot,
        },
        tls,
        crm,
        started_at.as_millisecond(),
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// The two sides of TLS, from the PEM files of `[live.tls]` (relative to the scenario's folder).
struct TlsSides {
    /// The listener's, with `--sip-tls`.
    acceptor: Option<switchboard_live::streams::TlsAcceptor>,
    /// For connections the switch opens to `sips:` peers, with `ca_certificates`.
    connector: Option<switchboard_live::streams::TlsConnector>,
}

fn load_tls(
    args: &ServeArgs,
    live: &switchboard_live::config::LiveConfig,
) -> anyhow::Result<TlsSides> {
    let base = args
        .scenario
        .parent()
        .unwrap_or_else(|| std::path::Path::new("."));
    let read = |name: &str| {
        let path = base.join(name);
        std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))
    };
    let problem = |problem: String| anyhow!("{}: [live.tls] {problem}", args.scenario.display());
    let connector = match live
        .tls
        .as_ref()
        .and_then(|tls| tls.ca_certificates.as_deref())
    {
        Some(name) => {
            Some(switchboard_live::streams::tls_connector(&read(name)?).map_err(problem)?)
        }
        None => None,
    };
    if args.sip_tls.is_none() {
        return Ok(TlsSides {
            acceptor: None,
            connector,
        });
    }
    let Some(tls) = &live.tls else {
        return Err(anyhow!(
            "{}: --sip-tls needs a [live.tls] table with certificate and private_key (docs/live.md)",
            args.scenario.display()
        ));
    };
    let acceptor =
        switchboard_live::streams::tls_acceptor(&read(&tls.certificate)?, &read(&tls.private_key)?)
            .map_err(problem)?;
    Ok(TlsSides {
        acceptor: Some(acceptor),
        connector,
    })
}

/// Standard error with personal data masked (`[live.compliance] mask`): each log line is
/// gathered whole, masked, then written, so that no log file holds a caller's number.
struct MaskedStderr(Masker);

/// One log line being written; masked and written out when the formatter is done with it.
struct MaskedLine<'a> {
    masker: &'a Masker,
    line: Vec<u8>,
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for MaskedStderr {
    type Writer = MaskedLine<'a>;

    fn make_writer(&'a self) -> MaskedLine<'a> {
        MaskedLine {
            masker: &self.0,
            line: Vec::new(),
        }
    }
}

impl std::io::Write for MaskedLine<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for MaskedLine<'_> {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.line);
        let masked = self.masker.mask(&text);
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), masked.as_bytes());
    }
}

/// Records for the audit log waiting for its thread at most; beyond, a record is lost and
/// said so in the log (a flood of refused REGISTERs must not stall call handling).
const AUDIT_QUEUE: usize = 8_192;

/// The thread that appends the switch's records to the audit log.
struct AuditWriter {
    sender: std::sync::mpsc::SyncSender<switchboard_compliance::audit::Entry>,
    thread: std::thread::JoinHandle<()>,
    lost: std::cell::Cell<u64>,
}

impl AuditWriter {
    fn start(guard: Arc<Guard>) -> AuditWriter {
        let (sender, receiver) = std::sync::mpsc::sync_channel(AUDIT_QUEUE);
        let thread = std::thread::spawn(move || {
            for entry in receiver {
                if let Err(problem) = guard.record_event(entry) {
                    tracing::error!(%problem, "cannot append to the audit log");
                }
            }
        });
        AuditWriter {
            sender,
            thread,
            lost: std::cell::Cell::new(0),
        }
    }

    fn send(&self, entry: switchboard_compliance::audit::Entry) {
        if self.sender.try_send(entry).is_err() {
            let lost = self.lost.get() + 1;
            self.lost.set(lost);
            tracing::error!(lost, "audit queue full: a record is lost");
        }
    }

    /// Wait for every record to be appended.
    fn close(self) {
        drop(self.sender);
        let _ = self.thread.join();
    }
}

/// The guard of `[live.compliance]`: the token file and the audit log (its folder by default
/// `audit` in `--data`), paths relative to the scenario's folder; none without `tokens`.
fn open_guard(
    args: &ServeArgs,
    live: &switchboard_live::config::LiveConfig,
) -> anyhow::Result<Option<Arc<Guard>>> {
    let compliance = &live.compliance;
    let (Some(tokens), Some(audit_key)) = (&compliance.tokens, &compliance.audit_key) else {
        return Ok(None);
    };
    let base = args
        .scenario
        .parent()
        .unwrap_or_else(|| std::path::Path::new("."));
    let tokens = Tokens::load(&base.join(tokens)).map_err(|problem| anyhow!("{problem}"))?;
    let key_path = base.join(audit_key);
    let signer = NoteSigner::load(&key_path).map_err(|problem| anyhow!("{problem}"))?;
    let folder = match &compliance.audit {
        Some(folder) => base.join(folder),
        None => args.data.join("audit"),
    };
    let options = AuditOptions {
        checkpoint_every: compliance.checkpoint_every,
    };
    let log = AuditLog::open(&folder, signer, options).map_err(|problem| anyhow!("{problem}"))?;
    tracing::info!(audit = %folder.display(), users = tokens.users().count(), "API tokens by role; audit log open");
    Ok(Some(Arc::new(Guard::new(tokens, log).auditing_logins())))
}

/// Run `job` on a blocking thread every `period` until the server stops (the first time at
/// once when `at_start`, else one period after the start); a run never overlaps the next.
fn every(
    period: std::time::Duration,
    at_start: bool,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    job: impl Fn() + Send + Sync + 'static,
) {
    let job = Arc::new(job);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        if !at_start {
            ticks.tick().await;
        }
        loop {
            tokio::select! {
                _ = shutdown.wait_for(|stopped| *stopped) => break,
                _ = ticks.tick() => {}
            }
            let job = job.clone();
            let _ = tokio::task::spawn_blocking(move || job()).await;
        }
    });
}

/// `[live.compliance.retention]` in a running server: a folder swept on a timer, through the
/// guard's audit log.
struct RetentionSweeper {
    folder: PathBuf,
    policy: RetentionPolicy,
    check_interval: std::time::Duration,
    guard: Arc<Guard>,
}

impl RetentionSweeper {
    /// One sweep at the wall clock's time: files' ages count from their creation times,
    /// which are wall-clock times too.
    fn sweep(&self) {
        let now_unix_ms = jiff::Timestamp::now().as_millisecond();
        match self
            .guard
            .sweep_retention(&self.folder, self.policy, now_unix_ms)
        {
            Ok(report) => {
                for path in &report.deleted {
                    tracing::info!(path = %path.display(), "retention: deleted");
                }
                for (path, why) in &report.skipped {
                    tracing::warn!(path = %path.display(), %why, "retention: not a file it may delete");
                }
            }
            Err(problem) => tracing::error!(%problem, "retention: sweep failed"),
        }
    }
}

/// Where recordings go and the retention sweep looks: `[live.compliance.retention] folder`
/// (relative to the scenario's folder), by default `recordings` in `--data`.
fn recordings_folder(
    args: &ServeArgs,
    live: &switchboard_live::config::LiveConfig,
) -> std::path::PathBuf {
    let base = args
        .scenario
        .parent()
        .unwrap_or_else(|| std::path::Path::new("."));
    match live
        .compliance
        .retention
        .as_ref()
        .and_then(|retention| retention.folder.as_ref())
    {
        Some(folder) => base.join(folder),
        None => args.data.join("recordings"),
    }
}

/// The retention timer's settings, when `[live.compliance.retention]` is set (its folder is
/// created if missing, so a server with nothing recorded yet sweeps an empty one).
fn retention_sweeper(
    args: &ServeArgs,
    live: &switchboard_live::config::LiveConfig,
    guard: Option<&Arc<Guard>>,
) -> anyhow::Result<Option<RetentionSweeper>> {
    let (Some(retention), Some(guard)) = (&live.compliance.retention, guard) else {
        return Ok(None);
    };
    let folder = recordings_folder(args, live);
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    tracing::info!(
        folder = %folder.display(),
        recordings = %retention.recordings,
        transcripts = %retention.transcripts,
        "retention: swept every {}",
        retention.check_interval
    );
    Ok(Some(RetentionSweeper {
        folder,
        policy: RetentionPolicy {
            recordings: retention.recordings,
            transcripts: retention.transcripts,
        },
        check_interval: std::time::Duration::from_millis(retention.check_interval.0),
        guard: guard.clone(),
    }))
}

/// The digest authenticator of `[live] secrets` (a path relative to the scenario's folder),
/// with a nonce key drawn from the operating system; none only when the scenario says so.
fn load_authenticator(
    scenario: &std::path::Path,
    live: &switchboard_live::config::LiveConfig,
) -> anyhow::Result<Option<Authenticator>> {
    let Some(secrets) = &live.secrets else {
        if live.allow_unauthenticated_agents {
            tracing::warn!("[live] allow_unauthenticated_agents: anyone may REGISTER as any agent");
            return Ok(None);
        }
        return Err(anyhow!(
            "{}: [live] secrets is not set: agents' phones would register without a password. \
             Set secrets = \"FILE\" (each agent's HA1, see docs/live.md), or \
             allow_unauthenticated_agents = true for a lab",
            scenario.display()
        ));
    };
    let path = scenario
        .parent()
        .unwrap_or_else(|| std::path::Path::new("."))
        .join(secrets);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the secrets file {}", path.display()))?;
    let secrets =
        Secrets::parse(&path.display().to_string(), &text).map_err(|problem| anyhow!(problem))?;
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|error| anyhow!("cannot draw the nonce key: {error}"))?;
    let algorithms = live.algorithms().map_err(|problem| anyhow!(problem))?;
    Ok(Some(
        Authenticator::new(secrets, key, live.nonce_lifetime.0).with_algorithms(algorithms),
    ))
}

/// The FAQ bot of `[live.bot] faq_file` (a path relative to the scenario's folder), read and
/// checked before anything listens: a bad file stops `serve` with its line and column.
fn load_faq_bot(
    scenario: &std::path::Path,
    live: &switchboard_live::config::LiveConfig,
) -> anyhow::Result<Option<switchboard_live::faq_bot::FaqBot>> {
    let Some(faq_file) = &live.bot.faq_file else {
        return Ok(None);
    };
    let path = scenario
        .parent()
        .unwrap_or_else(|| std::path::Path::new("."))
        .join(faq_file);
    let bot = switchboard_live::faq_bot::FaqBot::load(&path).map_err(|problem| {
        anyhow!(
            "{problem}\n(the FAQ file of [live.bot] faq_file in {})",
            scenario.display()
        )
    })?;
    tracing::info!(path = %path.display(), answers = bot.answer_count(), "FAQ bot on chat bot nodes");
    Ok(Some(bot))
}

/// What the switch is built with besides the center: agents' credentials and the chat bot.
struct SwitchParts {
    authenticator: Option<Authenticator>,
    faq_bot: Option<switchboard_live::faq_bot::FaqBot>,
}

/// The files media reads (prompts and music) and how it writes recordings.
struct MediaFiles {
    audio: Option<AudioLibrary>,
    recordings: RecordingStore,
}

/// A problem of the scenario file shown at the key `path` (`live.crm.url`) with its line,
/// column and a caret.
fn located_problem(
    scenario: &std::path::Path,
    text: &str,
    path: &str,
    message: &str,
) -> anyhow::Error {
    let offset = toml_edit::ImDocument::parse(text)
        .ok()
        .and_then(|document| crate::scenario_file::locate_path(&document, path))
        .map_or(0, |span| span.start);
    anyhow!(switchboard_engine::source_text::located(
        &scenario.display().to_string(),
        text,
        offset,
        message
    ))
}

/// Where Debian and its kin keep the CAs the system trusts: an `https` CRM URL without
/// `[live.crm] ca_certificates` is checked against them.
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The CRM screen pop of `[live.crm]`: its key and CA files (relative to the scenario's
/// folder) are read now, so that one missing stops the server at start, pointing at its key.
fn crm_settings(
    scenario: &std::path::Path,
    text: &str,
    live: &switchboard_live::config::LiveConfig,
) -> anyhow::Result<Option<switchboard_live::crm::Settings>> {
    let Some(crm) = &live.crm else {
        return Ok(None);
    };
    let base = scenario
        .parent()
        .unwrap_or_else(|| std::path::Path::new("."));
    let secret = match (&crm.secret, &crm.secret_file) {
        (Some(secret), _) => secret.clone().into_bytes(),
        (None, file) => {
            let path = base.join(file.as_deref().unwrap_or_default());
            let key = std::fs::read_to_string(&path).map_err(|problem| {
                located_problem(
                    scenario,
                    text,
                    "live.crm.secret_file",
                    &format!(
                        "[live.crm] secret_file: cannot read {}: {problem}",
                        path.display()
                    ),
                )
            })?;
            if key.trim().is_empty() {
                return Err(located_problem(
                    scenario,
                    text,
                    "live.crm.secret_file",
                    &format!("[live.crm] secret_file: {} holds no key", path.display()),
                ));
            }
            key.trim().as_bytes().to_vec()
        }
    };
    let target = switchboard_live::outbound_http::Target::parse(&crm.url)
        .map_err(|problem| located_problem(scenario, text, "live.crm.url", &problem))?;
    let (ca_key, ca_path) = match &crm.ca_certificates {
        Some(file) => ("live.crm.ca_certificates", base.join(file)),
        None => ("live.crm.url", std::path::PathBuf::from(SYSTEM_CA_BUNDLE)),
    };
    let ca_certificates = if target.https {
        Some(std::fs::read(&ca_path).map_err(|problem| {
            located_problem(
                scenario,
                text,
                ca_key,
                &format!(
                    "[live.crm] an https URL needs CA certificates: cannot read {}: {problem}",
                    ca_path.display()
                ),
            )
        })?)
    } else {
        None
    };
    let client = switchboard_live::outbound_http::Client::new(
        target,
        ca_certificates.as_deref(),
        std::time::Duration::from_millis(crm.timeout.0),
    )
    .map_err(|problem| located_problem(scenario, text, ca_key, &format!("[live.crm] {problem}")))?;
    Ok(Some(switchboard_live::crm::Settings {
        client,
        secret,
        retries: crm.retries,
        first_backoff: std::time::Duration::from_millis(crm.backoff.0),
        queue: crm.queue,
    }))
}

/// How recordings are stored: encrypted under `[live.compliance] recording_key_file` (a path
/// relative to the scenario's folder; a file that cannot be read is an error pointing at the
/// key), or plain WAV with a warning. Plain recordings are refused when
/// `[live.compliance.retention]` is set, since retention deletes encrypted files only and
/// plain ones would be kept for ever.
fn recording_store(
    scenario: &std::path::Path,
    text: &str,
    live: &switchboard_live::config::LiveConfig,
) -> anyhow::Result<RecordingStore> {
    let located = |path: &str, message: &str| located_problem(scenario, text, path, message);
    let records_calls = live.recording.records_calls();
    let Some(key_file) = &live.compliance.recording_key_file else {
        if records_calls && live.compliance.retention.is_some() {
            return Err(located(
                "live.compliance.retention",
                "[live.compliance.retention] with [live.recording] needs [live.compliance] \
                 recording_key_file: retention deletes encrypted recordings only, so plain ones \
                 would be kept for ever (make a key file with `switchboard recording keys new \
                 FILE --id ID`)",
            ));
        }
        if live.media.anchor {
            tracing::warn!(
                "recordings are written as plain WAV files (NAME.wav in the CDR): set \
                 [live.compliance] recording_key_file to encrypt them at rest"
            );
        }
        return Ok(RecordingStore::plain());
    };
    let path = scenario
        .parent()
        .unwrap_or_else(|| std::path::Path::new("."))
        .join(key_file);
    let key_text = std::fs::read_to_string(&path).map_err(|problem| {
        located(
            "live.compliance.recording_key_file",
            &format!(
                "[live.compliance] recording_key_file: cannot read {}: {problem} (make one with \
                 `switchboard recording keys new FILE --id ID`)",
                path.display()
            ),
        )
    })?;
    let store =
        RecordingStore::from_key_file(&path, key_text).map_err(|problem| anyhow!("{problem}"))?;
    tracing::info!(
        key_id = store.current_key_id(),
        "recordings encrypted at rest; the key file is read again before each recording"
    );
    Ok(store)
}

#[allow(clippy::too_many_arguments)] // each is one thing the server was configured with
async fn serve(
    args: ServeArgs,
    center: Center,
    live: switchboard_live::config::LiveConfig,
    media_files: MediaFiles,
    parts: SwitchParts,
    tls: TlsSides,
    crm: Option<switchboard_live::crm::Settings>,
    start_unix_ms: i64,
) -> anyhow::Result<()> {
    let failover = live.failover.clone();
    let socket = tokio::net::UdpSocket::bind(args.sip)
        .await
        .with_context(|| format!("cannot listen for SIP on {}", args.sip))?;
    let sip_address = socket.local_addr()?;
    match switchboard_live::runtime::enlarge_receive_buffer(
        &socket,
        switchboard_live::runtime::UDP_RECEIVE_BUFFER_BYTES,
    ) {
        Ok(granted) => tracing::debug!(granted, "UDP receive buffer"),
        Err(error) => tracing::warn!(%error, "cannot enlarge the UDP receive buffer"),
    }
    let stopped = stop_signals();
    let listener = tokio::net::TcpListener::bind(args.http)
        .await
        .with_context(|| format!("cannot listen for HTTP on {}", args.http))?;
    let http_address = listener.local_addr()?;
    let cdr_path = args.data.join("cdr.sqlite");
    let mut cdr_writer = CdrWriter::open(&cdr_path).map_err(|problem| anyhow!(problem))?;
    let open_tickets =
        switchboard_live::cdr::open_tickets::read_open_tickets(&cdr_path).map_err(|problem| {
            anyhow!("cannot put the open tickets back in their queues: {problem}")
        })?;

    let start = epoch_instant(start_unix_ms);
    let guard = open_guard(&args, &live)?;
    let access = match &guard {
        Some(guard) => Access::Guarded(guard.clone()),
        None => {
            if live.api_token.is_none() {
                tracing::warn!(
                    "neither [live] api_token nor [live.compliance] tokens is set: \
                     every API call but /health will get 401"
                );
            }
            Access::Shared(live.api_token.clone())
        }
    };
    let chat_sockets = switchboard_live::chat::ChatSockets::new(live.chat.max_sockets);
    let api = ApiSettings {
        access,
        places: Places::of(&center),
        masker: Masker::new(&live.compliance.mask),
        chat: chat_sockets.clone(),
        chat_webhook: chat_webhook(&args, &live, &center)?,
        editor: std::sync::Arc::new(switchboard_live::editor::FlowEditor::new(
            args.scenario.clone(),
            crate::check::editor_check(args.scenario.clone()),
        )),
    };
    let checkpoint_interval =
        std::time::Duration::from_millis(live.compliance.checkpoint_interval.0);
    let retention = retention_sweeper(&args, &live, guard.as_ref())?;
    // The decisions file holds callers' numbers as the CDRs do, so it is masked as they are.
    let decisions_masker = Masker::new(&live.compliance.mask);
    let media_settings = live.media.clone();
    let stream_settings = StreamSettings {
        max_connections: live.max_connections,
        idle_timeout: std::time::Duration::from_millis(live.connection_idle_timeout.0),
    };
    let trunks = switchboard_live::trunk::Trunks::new(live.trunk.clone())
        .map_err(|problem| anyhow!("{}: {problem}", args.scenario.display()))?;
    let recordings = recordings_folder(&args, &live);
    for queue in &live.recording.queues {
        if center.queue_id(queue).is_none() {
            let names: Vec<&str> = (0..center.queue_count() as u32)
                .map(|index| center.queue_name(switchboard_engine::QueueId(index)))
                .collect();
            return Err(anyhow!(
                "{}: [live.recording] queues: expected the name of a queue, found {queue:?}{}",
                args.scenario.display(),
                switchboard_engine::source_text::did_you_mean(queue, names.into_iter())
            ));
        }
    }
    let records_calls = live.recording.records_calls();
    let word_list = crate::sensitive_words_file::open(&args.scenario, &live)?;
    let word_list_check_interval =
        std::time::Duration::from_millis(live.compliance.sensitive_words_check_interval.0);
    let mut switch = Switch::new(center, live, sip_address, start_unix_ms).with_trunks(trunks);
    if let Some(crm) = crm {
        tracing::info!(url = %crm.client.target().authority, "CRM screen pops on every offer");
        let counters = switch.screen_pop_counters();
        switch = switch.with_screen_pops(switchboard_live::crm::start(crm, counters));
    }
    if let Some(file) = &word_list {
        switch = switch.with_sensitive_words(file.current());
    }
    let mut streams = None;
    for (transport, address) in [
        (Transport::Tcp, args.sip_tcp),
        (Transport::Tls, args.sip_tls),
    ] {
        let Some(address) = address else { continue };
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen for SIP over {transport} on {address}"))?;
        let address = listener.local_addr()?;
        let streams = streams.get_or_insert_with(|| Streams::new(stream_settings));
        let acceptor = if transport == Transport::Tls {
            tls.acceptor.clone()
        } else {
            None
        };
        streams.listen(listener, acceptor);
        switch = switch.with_listener(transport, address);
        tracing::info!(%transport, %address, "SIP over a stream transport");
    }
    if let Some(connector) = tls.connector {
        let without = streams
            .take()
            .unwrap_or_else(|| Streams::new(stream_settings));
        streams = Some(without.with_tls_connector(connector));
    }
    let mut media = None;
    if let Some(audio) = media_files.audio {
        let address = media_settings.address.unwrap_or(sip_address.ip());
        if address.is_unspecified() {
            return Err(anyhow!(
                "{}: SIP listens on {address}, which SDP cannot name: set [live.media] address",
                args.scenario.display()
            ));
        }
        let (driver, events) = MediaDriver::new(
            MediaSettings {
                address,
                media_timeout_ms: media_settings.media_timeout.0,
                recordings: media_files.recordings,
                workers: media_settings.workers,
                realtime_priority: media_settings.realtime_priority,
            },
            start,
        );
        let plane = MediaPlane::new(address, &media_settings, audio, driver.port_reserver())
            .map_err(|problem| anyhow!("{}: [live.media] {problem}", args.scenario.display()))?;
        switch = switch.with_media(plane);
        std::fs::create_dir_all(&recordings)
            .with_context(|| format!("cannot create {}", recordings.display()))?;
        switch = switch.with_recordings(recordings);
        media = Some((driver, events));
        tracing::info!(%address, ports = ?media_settings.rtp_ports, "media anchored");
    }
    if media.is_none() && records_calls {
        return Err(anyhow!(
            "{}: [live.recording] needs anchored media: set [live.media] anchor = true",
            args.scenario.display()
        ));
    }
    if let Some(authenticator) = parts.authenticator {
        switch = switch.with_authenticator(authenticator);
    }
    if let Some(faq_bot) = parts.faq_bot {
        switch = switch.with_faq_bot(faq_bot);
    }
    // Tickets left open by the last run wait in their queues again (docs/channels.md).
    switch = switch.with_durable_tickets();
    let restored = switch
        .restore_tickets(open_tickets)
        .map_err(|problem| anyhow!("{}: {problem}", cdr_path.display()))?;
    if restored > 0 {
        tracing::info!(restored, "open tickets back in their queues");
    }
    let (handle, requests) = SwitchHandle::channel();
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    // `[live.failover]`: the lease, and the callback requests kept beside it in etcd.
    let callback_changes = match failover {
        Some(failover) => {
            let fence = hold_lease(failover.clone(), handle.clone());
            switch = switch.with_callback_replication(failover.replication);
            let options = switchboard_failover_live::replication::ReplicationOptions {
                site: failover.site,
                endpoint: failover.etcd,
                claim_every: std::time::Duration::from_millis(failover.lease_ttl.0 / 6),
                mode: failover.replication,
            };
            Some(
                switchboard_failover_live::replication::start(options, handle.clone(), fence)
                    .map_err(|problem| anyhow!("[live.failover] etcd: {problem}"))?,
            )
        }
        None => None,
    };

    let mut http_shutdown = shutdown.clone();
    let router = switchboard_live::http::router(handle.clone(), api);
    if let Some(guard) = guard.clone() {
        every(checkpoint_interval, false, shutdown.clone(), move || {
            if let Err(problem) = guard.checkpoint() {
                tracing::error!(%problem, "cannot sign an audit checkpoint");
            }
        });
    }
    let word_list_file = word_list
        .as_ref()
        .map(|file| file.path().display().to_string());
    if let Some(file) = word_list {
        let reload = crate::sensitive_words_file::reload_job(file, handle.clone());
        every(word_list_check_interval, false, shutdown.clone(), reload);
    }
    if let Some(retention) = retention {
        // The first sweep is at once: files that expired while the server was down go now.
        let period = retention.check_interval;
        every(period, true, shutdown.clone(), move || retention.sweep());
    }
    // Every frame of a chat socket is sent at once: with Nagle's algorithm a frame written
    // while the previous one is unacknowledged waits for the peer's delayed ACK (40 ms on
    // Linux), which was the p99 of chat messages under load (docs/performance.md).
    let listener =
        axum::serve::ListenerExt::tap_io(listener, |stream: &mut tokio::net::TcpStream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY on an HTTP connection");
            }
        });
    let http = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = http_shutdown.wait_for(|stopped| *stopped).await;
            })
            .await
    });
    tokio::spawn(async move {
        stopped.await;
        tracing::info!("stopping: finishing calls' records");
        let _ = stop.send(true);
    });
    tracing::info!(sip = %sip_address, http = %http_address, cdr = %cdr_path.display(), "switchboard serving");

    let mut decisions = match &args.decisions {
        Some(path) => Some(DecisionWriter::create(path, decisions_masker)?),
        None => None,
    };
    if decisions.is_some() {
        switch = switch.with_event_log();
    }
    let mut write_decision = |center: &Center, event: CallerEvent| {
        if let Some(writer) = decisions.as_mut() {
            writer.write(center, event);
        }
    };
    // The audit log's records go to a thread of their own, so that a flood of refused
    // REGISTERs waits on the disk there, not in call handling.
    let audit_writer = guard.clone().map(AuditWriter::start);
    if audit_writer.is_some() {
        switch = switch.with_audit_log();
        if let Some(file) = &word_list_file {
            switch.audit_sensitive_words_loaded(file);
        }
    }
    let mut send_audit = |entry| {
        if let Some(writer) = audit_writer.as_ref() {
            writer.send(entry);
        }
    };
    let mut deliver_chat = |frame| chat_sockets.deliver(frame);
    let mut replicate_callback = |change| {
        if let Some(changes) = callback_changes.as_ref() {
            // Bounded: the loop never waits on etcd (a refused change is a request left
            // unconfirmed under "sync", or a key left for a later claim).
            if let Err(error) = changes.try_send(change) {
                tracing::error!(%error, "callback request change not queued for etcd");
            }
        }
    };
    let options = LoopOptions {
        clock_rate: args.clock_rate,
        quantum_ms: args.clock_quantum_ms,
        on_event: Some(&mut write_decision),
        on_audit: Some(&mut send_audit),
        on_chat: Some(&mut deliver_chat),
        on_callback: Some(&mut replicate_callback),
    };
    let mut switch = run_switch_observed(
        &socket,
        switch,
        requests,
        shutdown,
        Some(&mut cdr_writer),
        start,
        media.as_mut().map(|(driver, events)| (driver, events)),
        streams.as_mut(),
        options,
    )
    .await;
    // Calls still up are dropped (each gets a CDR with outcome "dropped").
    switch.drop_all_calls(start.elapsed().as_millis() as u64);
    switchboard_live::runtime::keep_open_tickets(&mut switch, Some(&mut cdr_writer));
    while let Some(transmit) = switch.poll_transmit() {
        if transmit.transport.is_reliable() {
            if let Some(streams) = streams.as_mut() {
                streams.send(transmit);
            }
            continue;
        }
        let _ = socket.send_to(&transmit.bytes, transmit.destination).await;
    }
    while let Some(record) = switch.poll_cdr() {
        cdr_writer.record(record);
    }
    if let Some((mut driver, _events)) = media {
        while let Some(command) = switch.poll_media() {
            driver.apply(command);
        }
        let stats = driver.stats();
        // The workers add their last figures as they stop.
        driver.shut_down();
        let (measured, p50_us, p99_us, p999_us, max_us) = stats.latency_us();
        tracing::info!(
            relayed = stats.relayed.load(std::sync::atomic::Ordering::Relaxed),
            generated = stats.generated.load(std::sync::atomic::Ordering::Relaxed),
            dropped = stats.dropped.load(std::sync::atomic::Ordering::Relaxed),
            measured,
            p50_us,
            p99_us,
            p999_us,
            max_us,
            "media relay: packets and added latency"
        );
    }
    let rows = cdr_writer.close().map_err(|problem| anyhow!(problem))?;
    let _ = http.await;
    if let Some(writer) = audit_writer {
        while let Some(entry) = switch.poll_audit() {
            writer.send(entry);
        }
        writer.close();
    }
    if let Some(guard) = &guard {
        // The last records get their checkpoint before the process ends.
        guard
            .checkpoint()
            .map_err(|problem| anyhow!("cannot sign the last audit checkpoint: {problem}"))?;
    }
    tracing::info!(rows, "CDR rows written; stopped");
    Ok(())
}

/// Wait for Ctrl-C or SIGTERM. The handlers are installed when this is called, not when the
/// future is first polled: a SIGTERM that arrives as soon as the server answers must stop it
/// cleanly (every CDR written), not kill it.
fn stop_signals() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let terminate = signal(SignalKind::terminate());
        let interrupt = signal(SignalKind::interrupt());
        async move {
            match (terminate, interrupt) {
                (Ok(mut terminate), Ok(mut interrupt)) => {
                    tokio::select! {
                        _ = terminate.recv() => {}
                        _ = interrupt.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// `--decisions FILE`: the engine's decisions as JSON lines, each flushed as it is made (a
/// replay reads the file after stopping the server). Every string of a line goes through the
/// masking of `[live.compliance] mask`, like the CDRs' caller column.
struct DecisionWriter {
    path: PathBuf,
    writer: std::io::BufWriter<std::fs::File>,
    masker: Masker,
    failed: bool,
}

impl DecisionWriter {
    fn create(path: &std::path::Path, masker: Masker) -> anyhow::Result<DecisionWriter> {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(DecisionWriter {
            path: path.to_path_buf(),
            writer: std::io::BufWriter::new(file),
            masker,
            failed: false,
        })
    }

    fn write(&mut self, center: &Center, event: CallerEvent) {
        use std::io::Write;
        let Some(decision) = switchboard_results::script::decision_of(center, &event.event) else {
            return;
        };
        let line = switchboard_results::script::CallerDecision {
            caller: event.caller,
            decision,
        };
        let mut value = serde_json::to_value(&line).expect("decisions serialize");
        self.masker.mask_json(&mut value);
        let text = value.to_string();
        let written = writeln!(self.writer, "{text}").and_then(|_| self.writer.flush());
        if let Err(error) = written {
            if !std::mem::replace(&mut self.failed, true) {
                tracing::error!(%error, path = %self.path.display(), "cannot write decisions");
            }
        }
    }
}

/// The monotonic instant of a wall-clock time (milliseconds since 1970), in the past or the
/// future: two processes that share an epoch share a clock to within the system clock's reading.
pub fn epoch_instant(unix_ms: i64) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    let now_unix_ms = jiff::Timestamp::now().as_millisecond();
    let ahead_ms = unix_ms - now_unix_ms;
    if ahead_ms >= 0 {
        now + std::time::Duration::from_millis(ahead_ms as u64)
    } else {
        now.checked_sub(std::time::Duration::from_millis(ahead_ms.unsigned_abs()))
            .unwrap_or(now)
    }
}

/// `[live.chat]`'s webhook, its entry checked against the center: an entry point, a queue or a
/// flow.
fn chat_webhook(
    args: &ServeArgs,
    live: &switchboard_live::config::LiveConfig,
    center: &switchboard_engine::Center,
) -> anyhow::Result<Option<switchboard_live::config::ChatWebhookConfig>> {
    let webhook = live
        .chat
        .webhook()
        .map_err(|problem| anyhow!("{}: {problem}", args.scenario.display()))?;
    if let Some(webhook) = &webhook {
        let target = live
            .entry_points
            .get(&webhook.entry)
            .unwrap_or(&webhook.entry);
        if center.queue_id(target).is_none() && center.flow_id(target).is_none() {
            let queues = (0..center.queue_count() as u32)
                .map(|index| center.queue_name(switchboard_engine::QueueId(index)));
            let names: Vec<&str> = live
                .entry_points
                .keys()
                .map(String::as_str)
                .chain(queues)
                .collect();
            return Err(anyhow!(
                "{}: [live.chat] webhook_entry: expected an entry point, a queue or a flow, found {:?}{}",
                args.scenario.display(),
                webhook.entry,
                switchboard_engine::source_text::did_you_mean(&webhook.entry, names.into_iter())
            ));
        }
    }
    Ok(webhook)
}

/// `[live.failover]`: hold the site's lease in etcd (`switchboard_failover_live::lease`) and
/// tell the switch to raise its fence while no lease is held, to open it once one is. The
/// latest change wins (a watch channel): the switch needs the present state, not the history.
/// Returns that channel, for what else must know whether the site holds its lease.
fn hold_lease(
    failover: switchboard_live::config::FailoverConfig,
    handle: SwitchHandle,
) -> tokio::sync::watch::Receiver<(switchboard_failover_live::lease::Fence, String)> {
    use switchboard_failover_live::lease::{keep, Fence, LeaseOptions};
    let options = LeaseOptions {
        site: failover.site,
        endpoint: failover.etcd,
        ttl_s: failover.lease_ttl.0 / 1_000,
    };
    let (changes, mut fence) = tokio::sync::watch::channel((Fence::Raised, String::new()));
    tokio::spawn(keep(options, move |state, reason| {
        changes.send_replace((state, reason.to_string()));
    }));
    let returned = fence.clone();
    tokio::spawn(async move {
        loop {
            let (state, reason) = fence.borrow_and_update().clone();
            let command = switchboard_live::api::Command::SetFence {
                fenced: state == Fence::Raised,
                reason,
            };
            // The switch's command queue may be full for a moment: ask until it takes it.
            while handle.ask(command.clone()).await.is_err() {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            if fence.changed().await.is_err() {
                return;
            }
        }
    });
    returned
}

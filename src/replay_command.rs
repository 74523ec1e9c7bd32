//! `switchboard replay SCRIPT_DIR`: play a simulated replication's script through the live
//! runtime and compare the live engine's decisions with the simulator's (docs/agreement.md).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use switchboard_agreement::plan::ReplayPlan;
use switchboard_agreement::real_clock::{script_numbering, serve_scenario};
use switchboard_engine::Center;
use switchboard_live::config::{LiveConfig, ScenarioLive};
use switchboard_results::script::{
    agreement, decision_hash, first_contact_divergence, first_divergence, read_lines,
    timing_agreement, write_lines, CallerDecision, Decision, ScriptLine, DECISIONS_FILE,
    SCENARIO_FILE, SCRIPT_FILE,
};

/// The live runtime's decisions, written beside the script with --out.
pub const LIVE_DECISIONS_FILE: &str = "live-decisions.jsonl";

/// Replay a script (`sim --export-script`) through the live runtime's SIP switch and compare
/// its decisions with the simulator's.
#[derive(clap::Args)]
#[command(after_help = "Example:
  switchboard sim scenarios/agreement.toml --export-script script
  switchboard replay script

  Prints \"identical decisions\" with both hashes, or the first decision that differs, and exits
  with 1 when they differ.")]
pub struct ReplayArgs {
    /// The folder `switchboard sim --export-script` wrote.
    pub script: PathBuf,
    /// The scenario the live runtime runs (its center and [live] table); by default the
    /// scenario.toml of the script folder. Its center must be the simulated one.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Also write the live runtime's decisions to this folder (live-decisions.jsonl).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Start `switchboard serve` on loopback ports and play the script against it on the
    /// wall clock, its callers and agents as UDP peers and its API told the agents' actions;
    /// prints the share of identical decisions.
    #[arg(long)]
    pub real_clock: bool,
    /// With --real-clock: script milliseconds per wall-clock millisecond (2 plays a 40 s script
    /// in 20 s; the server's clock runs at the same rate).
    #[arg(long, default_value_t = 1.0, requires = "real_clock")]
    pub clock_rate: f64,
    /// With --real-clock: the least share of identical decisions that passes (exit 1 below).
    #[arg(long, default_value_t = 0.99, requires = "real_clock")]
    pub min_share: f64,
}

pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let lines: Vec<ScriptLine> = read_lines(&args.script.join(SCRIPT_FILE))?;
    let expected: Vec<Decision> = read_lines(&args.script.join(DECISIONS_FILE))?;
    let plan = ReplayPlan::from_lines(&lines)
        .map_err(|problem| anyhow!("{}: {problem}", args.script.join(SCRIPT_FILE).display()))?;
    let config_path = args
        .config
        .clone()
        .unwrap_or_else(|| args.script.join(SCENARIO_FILE));
    let (center, live) = load_live(&config_path)?;
    if args.real_clock {
        anyhow::ensure!(
            args.clock_rate > 0.0 && args.clock_rate.is_finite(),
            "--clock-rate must be a number above 0"
        );
        return run_real_clock(&args, &config_path, &center, &live, plan, &expected);
    }
    let output = switchboard_agreement::virtual_clock::replay(center, live, plan)
        .map_err(|problem| anyhow!("the replay stopped: {problem}"))?;
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        write_lines(&out.join(LIVE_DECISIONS_FILE), &output.decisions)?;
    }
    for refusal in output.refused_commands.iter().take(5) {
        eprintln!("warning: the switch refused an agent's action: {refusal}");
    }
    println!(
        "simulator:    {} decisions, hash {}",
        expected.len(),
        decision_hash(&expected)
    );
    println!(
        "live runtime: {} decisions, hash {} (virtual clock; {} SIP datagrams, {} CDR rows)",
        output.decisions.len(),
        decision_hash(&output.decisions),
        output.datagrams,
        output.cdr_rows
    );
    match first_divergence(&expected, &output.decisions) {
        None => {
            println!("identical decisions");
            Ok(ExitCode::SUCCESS)
        }
        Some((index, simulator, live)) => {
            let describe = |decision: Option<&Decision>| {
                decision.map_or("(none: the stream ended)".to_string(), Decision::to_string)
            };
            println!("first divergence at decision {}:", index + 1);
            println!("  simulator:    {}", describe(simulator));
            println!("  live runtime: {}", describe(live));
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The center and the [live] table of a scenario file, checked as `serve` checks them.
pub fn load_live(path: &Path) -> anyhow::Result<(Center, LiveConfig)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (config, _) =
        crate::scenario_file::load_center(&text).map_err(|errors| anyhow!(errors.render(path)))?;
    let live = toml::from_str::<ScenarioLive>(&text)
        .map_err(|error| anyhow!(crate::scenario_file::toml_problem(path, &text, &error)))?
        .live;
    live.check()
        .map_err(|problem| anyhow!("{}: {problem}", path.display()))?;
    let center = Center::new(config).map_err(|error| anyhow!("{}: {error}", path.display()))?;
    Ok((center, live))
}

/// `--real-clock`: `switchboard serve` started on loopback ports, the script played against it.
fn run_real_clock(
    args: &ReplayArgs,
    config_path: &Path,
    center: &Center,
    live: &LiveConfig,
    plan: ReplayPlan,
    expected: &[Decision],
) -> anyhow::Result<ExitCode> {
    use std::io::BufRead;
    if let Some((contact, _)) = plan
        .contacts
        .iter()
        .find(|(_, contact)| contact.channel != "voice")
    {
        anyhow::bail!(
            "contact {contact} of the script is a chat: --real-clock replays voice calls only \
             (replay chats under the virtual clock, without --real-clock; docs/agreement.md)"
        );
    }
    let work = std::env::temp_dir().join(format!("switchboard-replay-{}", std::process::id()));
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let token = format!("replay-{}", std::process::id());
    let serve_config = work.join("serve.toml");
    let text = std::fs::read_to_string(config_path)
        .with_context(|| format!("cannot read {}", config_path.display()))?;
    let served = serve_scenario(&text, &token).context("the scenario is not TOML")?;
    std::fs::write(&serve_config, served)
        .with_context(|| format!("cannot write {}", serve_config.display()))?;
    // Both clocks start at one wall-clock instant, a little ahead so that the server is up.
    let epoch_unix_ms = jiff::Timestamp::now().as_millisecond() + SERVER_START_MS;
    let epoch = crate::serve_command::epoch_instant(epoch_unix_ms);
    let quantum_ms = plan.quantum_ms;
    let duration_ms = plan.duration_ms;
    let sip = free_address(true)?;
    let http = free_address(false)?;
    let decisions_path = work.join("decisions.jsonl");
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .arg("serve")
        .arg(&serve_config)
        .args(["--sip", &sip.to_string(), "--http", &http.to_string()])
        .arg("--data")
        .arg(&work)
        .arg("--decisions")
        .arg(&decisions_path)
        .args(["--clock-rate", &args.clock_rate.to_string()])
        .args(["--clock-quantum-ms", &quantum_ms.to_string()])
        .args(["--epoch-unix-ms", &epoch_unix_ms.to_string()])
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "warn,switchboard=info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("cannot start switchboard serve")?;
    // The server says when it listens; its log is kept for an error message.
    let stderr = child.stderr.take().expect("piped");
    let (ready_sender, ready) = std::sync::mpsc::channel();
    let log = std::thread::spawn(move || {
        let mut kept = Vec::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("switchboard serving") {
                let _ = ready_sender.send(());
            }
            kept.push(line);
        }
        kept
    });
    let started = ready
        .recv_timeout(std::time::Duration::from_millis(SERVER_START_MS as u64))
        .is_ok();
    let result = if started {
        let options = switchboard_agreement::real_clock::RealClockOptions {
            switch: sip,
            http,
            token,
            clock_rate: args.clock_rate,
            epoch,
            quantum_ms,
            register_every_ms: (live.max_registration.0 / 2).max(1_000),
        };
        let agents = switchboard_agreement::virtual_clock::agent_names(center);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let played = runtime.block_on(async {
            let played = switchboard_agreement::real_clock::replay(plan, agents, options).await;
            // Messages still in flight reach the server before it stops.
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            played
        });
        Some(played)
    } else {
        None
    };
    let _ = child.kill();
    let _ = child.wait();
    let server_log = log.join().unwrap_or_default();
    let Some(played) = result else {
        let _ = std::fs::remove_dir_all(&work);
        return Err(anyhow!(
            "switchboard serve was not listening within {SERVER_START_MS} ms:\n{}",
            server_log.join("\n")
        ));
    };
    let played = played.map_err(|problem| anyhow!("the replay stopped: {problem}"))?;
    let written: Vec<CallerDecision> = read_lines(&decisions_path)?;
    let _ = std::fs::remove_dir_all(&work);
    // The simulator stops at the script's duration; the server, stopped a moment later, may
    // have decided a little more.
    let mut actual = script_numbering(written);
    actual.retain(|decision| decision.time_ms < duration_ms);
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        write_lines(&out.join(LIVE_DECISIONS_FILE), &actual)?;
    }
    for refusal in played.refused_commands.iter().take(5) {
        eprintln!("warning: the API refused an agent's action: {refusal}");
    }
    let share = agreement(expected, &actual);
    println!(
        "simulator:    {} decisions, hash {}",
        expected.len(),
        decision_hash(expected)
    );
    let grid = if quantum_ms > 0 {
        format!(" on a {quantum_ms} ms grid")
    } else {
        String::new()
    };
    println!(
        "live runtime: {} decisions, hash {} (real clock at rate {}{grid}; {} SIP datagrams sent, {} received)",
        actual.len(),
        decision_hash(&actual),
        args.clock_rate,
        played.datagrams_sent,
        played.datagrams_received
    );
    println!(
        "identical decisions: {} of {} ({:.1} %)",
        share.identical,
        share.expected.max(share.actual),
        100.0 * share.share()
    );
    if let Some(timing) = timing_agreement(expected, &actual) {
        println!(
            "times of identical decisions, after an offset of {} ms: median {} ms, 99th percentile {} ms, largest {} ms off",
            timing.offset_ms, timing.median_ms, timing.p99_ms, timing.largest_ms
        );
    }
    if expected == actual.as_slice() {
        println!("identical decisions, times included");
    } else if let Some((simulator, live)) = first_contact_divergence(expected, &actual) {
        println!("first decision that differs:");
        println!("  simulator:    {simulator}");
        println!(
            "  live runtime: {}",
            live.map_or("(none)".to_string(), Decision::to_string)
        );
    }
    Ok(if share.share() >= args.min_share {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "error: {:.1} % identical decisions, below --min-share {:.1} %",
            100.0 * share.share(),
            100.0 * args.min_share
        );
        ExitCode::FAILURE
    })
}

/// How long the server has to start listening: both clocks start this long after the replay.
const SERVER_START_MS: i64 = 3_000;

/// A loopback address with a port nobody uses now (UDP or TCP).
fn free_address(udp: bool) -> anyhow::Result<std::net::SocketAddr> {
    let address = if udp {
        std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?
    } else {
        std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?
    };
    Ok(address)
}

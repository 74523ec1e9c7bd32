//! `switchboard serve SCENARIO`: answer real calls with the engine (the live runtime).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use switchboard_engine::Center;
use switchboard_live::auth::{Authenticator, Secrets};
use switchboard_live::cdr::CdrWriter;
use switchboard_live::config::ScenarioLive;
use switchboard_live::media::{MediaDriver, MediaSettings};
use switchboard_live::media_plane::{AudioLibrary, MediaPlane};
use switchboard_live::runtime::{run_switch_with_media, SwitchHandle};
use switchboard_live::sip::transport::Transport;
use switchboard_live::streams::{StreamSettings, Streams};
use switchboard_live::switch::Switch;

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
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only for a person at a terminal: never in a log file, never with NO_COLOR set
    // (https://no-color.org, any value but the empty string).
    let colours = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && !matches!(std::env::var_os("NO_COLOR"), Some(value) if !value.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(colours)
        .with_env_filter(filter)
        .try_init();

    let text = std::fs::read_to_string(&args.scenario)
        .with_context(|| format!("cannot read {}", args.scenario.display()))?;
    // The shared loader reports every problem with its line and column.
    let (mut config, _) = crate::scenario_file::load_center(&text)
        .map_err(|errors| anyhow!(errors.render(&args.scenario)))?;
    let live = toml::from_str::<ScenarioLive>(&text)
        .with_context(|| format!("{}: invalid [live] table", args.scenario.display()))?
        .live;
    live.check()
        .map_err(|problem| anyhow!("{}: {problem}", args.scenario.display()))?;
    let authenticator = load_authenticator(&args.scenario, &live)?;
    let tls = load_tls(&args, &live)?;
    // Live time 0 is now, so business hours are evaluated against the real clock.
    let started_at = jiff::Timestamp::now();
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
                    node_prompt(config).map(|prompt| {
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
        audio,
        authenticator,
        tls,
        started_at.as_millisecond(),
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// The TLS acceptor of `--sip-tls`, from the PEM files of `[live.tls]` (relative to the
/// scenario's folder); none without `--sip-tls`.
fn load_tls(
    args: &ServeArgs,
    live: &switchboard_live::config::LiveConfig,
) -> anyhow::Result<Option<switchboard_live::streams::TlsAcceptor>> {
    if args.sip_tls.is_none() {
        return Ok(None);
    }
    let Some(tls) = &live.tls else {
        return Err(anyhow!(
            "{}: --sip-tls needs a [live.tls] table with certificate and private_key (docs/live.md)",
            args.scenario.display()
        ));
    };
    let base = args
        .scenario
        .parent()
        .unwrap_or_else(|| std::path::Path::new("."));
    let read = |name: &str| {
        let path = base.join(name);
        std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))
    };
    let acceptor =
        switchboard_live::streams::tls_acceptor(&read(&tls.certificate)?, &read(&tls.private_key)?)
            .map_err(|problem| anyhow!("{}: [live.tls] {problem}", args.scenario.display()))?;
    Ok(Some(acceptor))
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
        Secrets::parse(&text).map_err(|problem| anyhow!("{}: {problem}", path.display()))?;
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|error| anyhow!("cannot draw the nonce key: {error}"))?;
    let algorithms = live.algorithms().map_err(|problem| anyhow!(problem))?;
    Ok(Some(
        Authenticator::new(secrets, key, live.nonce_lifetime.0).with_algorithms(algorithms),
    ))
}

async fn serve(
    args: ServeArgs,
    center: Center,
    live: switchboard_live::config::LiveConfig,
    audio: Option<AudioLibrary>,
    authenticator: Option<Authenticator>,
    tls: Option<switchboard_live::streams::TlsAcceptor>,
    start_unix_ms: i64,
) -> anyhow::Result<()> {
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
    let listener = tokio::net::TcpListener::bind(args.http)
        .await
        .with_context(|| format!("cannot listen for HTTP on {}", args.http))?;
    let http_address = listener.local_addr()?;
    let cdr_path = args.data.join("cdr.sqlite");
    let mut cdr_writer = CdrWriter::open(&cdr_path).map_err(|problem| anyhow!(problem))?;

    let start = tokio::time::Instant::now();
    let token = live.api_token.clone();
    if token.is_none() {
        tracing::warn!("[live] api_token is not set: state-changing API calls will all get 401");
    }
    let media_settings = live.media.clone();
    let stream_settings = StreamSettings {
        max_connections: live.max_connections,
        idle_timeout: std::time::Duration::from_millis(live.connection_idle_timeout.0),
    };
    let trunks = switchboard_live::trunk::Trunks::new(live.trunk.clone())
        .map_err(|problem| anyhow!("{}: {problem}", args.scenario.display()))?;
    let mut switch = Switch::new(center, live, sip_address, start_unix_ms).with_trunks(trunks);
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
            tls.clone()
        } else {
            None
        };
        streams.listen(listener, acceptor);
        switch = switch.with_listener(transport, address);
        tracing::info!(%transport, %address, "SIP over a stream transport");
    }
    let mut media = None;
    if let Some(audio) = audio {
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
            },
            start,
        );
        let plane = MediaPlane::new(address, &media_settings, audio, driver.port_reserver())
            .map_err(|problem| anyhow!("{}: [live.media] {problem}", args.scenario.display()))?;
        switch = switch.with_media(plane);
        media = Some((driver, events));
        tracing::info!(%address, ports = ?media_settings.rtp_ports, "media anchored");
    }
    if let Some(authenticator) = authenticator {
        switch = switch.with_authenticator(authenticator);
    }
    let (handle, requests) = SwitchHandle::channel();
    let (stop, shutdown) = tokio::sync::watch::channel(false);

    let mut http_shutdown = shutdown.clone();
    let router = switchboard_live::http::router(handle, token);
    let http = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = http_shutdown.wait_for(|stopped| *stopped).await;
            })
            .await
    });
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("stopping: finishing calls' records");
        let _ = stop.send(true);
    });
    tracing::info!(sip = %sip_address, http = %http_address, cdr = %cdr_path.display(), "switchboard serving");

    let mut switch = run_switch_with_media(
        &socket,
        switch,
        requests,
        shutdown,
        Some(&mut cdr_writer),
        start,
        media.as_mut().map(|(driver, events)| (driver, events)),
        streams.as_mut(),
    )
    .await;
    // Calls still up are dropped (each gets a CDR with outcome "dropped").
    switch.drop_all_calls(start.elapsed().as_millis() as u64);
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
        driver.shut_down();
    }
    let rows = cdr_writer.close().map_err(|problem| anyhow!(problem))?;
    let _ = http.await;
    tracing::info!(rows, "CDR rows written; stopped");
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The prompt of an IVR node, if it has one.
fn node_prompt(node: &switchboard_engine::config::IvrNodeConfig) -> Option<&str> {
    use switchboard_engine::config::IvrNodeConfig;
    match node {
        IvrNodeConfig::Play { prompt, .. }
        | IvrNodeConfig::Menu { prompt, .. }
        | IvrNodeConfig::Collect { prompt, .. }
        | IvrNodeConfig::SelfService { prompt, .. }
        | IvrNodeConfig::Callback { prompt, .. } => Some(prompt),
        IvrNodeConfig::Hangup { prompt, .. } => prompt.as_deref(),
        _ => None,
    }
}

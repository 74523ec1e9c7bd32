//! `switchboard serve SCENARIO`: answer real calls with the engine (the live runtime).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use switchboard_engine::Center;
use switchboard_live::cdr::CdrWriter;
use switchboard_live::config::ScenarioLive;
use switchboard_live::runtime::{run_switch, SwitchHandle};
use switchboard_live::switch::Switch;

/// Answer real calls: a SIP B2BUA and registrar over UDP, an HTTP API and a CDR store around
/// the engine. Agents register as sip:AGENT-ID@SIP-ADDRESS; trunk INVITEs to sip:ENTRY@...
/// where ENTRY is a queue, an IVR flow, or a DID listed in [live.entry_points].
#[derive(clap::Args)]
#[command(after_help = "Example:
  switchboard serve scenarios/live.toml --sip 127.0.0.1:5060 --http 127.0.0.1:8080 --data ./switchboard-data

  Agent phones REGISTER sip:sales-team-1@127.0.0.1; a trunk INVITEs sip:sales@127.0.0.1:5060.
  curl -H 'Authorization: Bearer TOKEN' -X POST http://127.0.0.1:8080/agents/sales-team-1/ready
  Logs go to stderr (RUST_LOG=debug for more). Ctrl-C or SIGTERM stops it after writing every CDR.")]
pub struct ServeArgs {
    /// The scenario file (TOML): the center, and a [live] table for entry points and the token.
    pub scenario: PathBuf,
    /// UDP address for SIP.
    #[arg(long, default_value = "127.0.0.1:5060")]
    pub sip: SocketAddr,
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
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
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
    // Live time 0 is now, so business hours are evaluated against the real clock.
    let started_at = jiff::Timestamp::now();
    config.center.start = started_at.to_string();
    let center =
        Center::new(config).map_err(|error| anyhow!("{}: {error}", args.scenario.display()))?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args, center, live, started_at.as_millisecond()))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(
    args: ServeArgs,
    center: Center,
    live: switchboard_live::config::LiveConfig,
    start_unix_ms: i64,
) -> anyhow::Result<()> {
    let socket = tokio::net::UdpSocket::bind(args.sip)
        .await
        .with_context(|| format!("cannot listen for SIP on {}", args.sip))?;
    let sip_address = socket.local_addr()?;
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
    let switch = Switch::new(center, live, sip_address, start_unix_ms);
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

    let mut switch = run_switch(
        &socket,
        switch,
        requests,
        shutdown,
        Some(&mut cdr_writer),
        start,
    )
    .await;
    // Calls still up are dropped (each gets a CDR with outcome "dropped").
    switch.drop_all_calls(start.elapsed().as_millis() as u64);
    while let Some(transmit) = switch.poll_transmit() {
        let _ = socket.send_to(&transmit.bytes, transmit.destination).await;
    }
    while let Some(record) = switch.poll_cdr() {
        cdr_writer.record(record);
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

//! The chat load generator of docs/performance.md ("Chat over WebSocket"): agent and customer
//! sockets against a running `switchboard serve`, messages at a steady rate, the latency of
//! each through the switch. `scripts/chat-load.sh` starts the server and runs this.
//!
//! ```sh
//! cargo run --release --example chat_load -- --http 127.0.0.1:8080 --token TOKEN \
//!     --entry web --agent-prefix load- --agents 5000 --sessions 10000 --rate 5000 --duration 30
//! ```

#[path = "../tests/common/chat_load.rs"]
mod chat_load;

use std::process::ExitCode;

use clap::Parser;

/// Chat load against a running `switchboard serve`.
#[derive(Parser)]
struct Arguments {
    /// The server's HTTP listener, HOST:PORT.
    #[arg(long)]
    http: String,
    /// A token that may attach every agent's chat socket.
    #[arg(long)]
    token: String,
    /// The entry point customers open (`/chat/ENTRY`).
    #[arg(long, default_value = "web")]
    entry: String,
    /// Agents are PREFIX1, PREFIX2, ...
    #[arg(long, default_value = "load-")]
    agent_prefix: String,
    #[arg(long, default_value_t = 5_000)]
    agents: usize,
    #[arg(long, default_value_t = 10_000)]
    sessions: usize,
    /// Messages per second through the switch, customers' and agents' together.
    #[arg(long, default_value_t = 5_000.0)]
    rate: f64,
    /// Seconds measured, after every session is connected and has written once.
    #[arg(long, default_value_t = 30.0)]
    duration: f64,
    /// Customer sockets opened per second while connecting.
    #[arg(long, default_value_t = 2_000.0)]
    connects_per_s: f64,
}

fn main() -> ExitCode {
    let arguments = Arguments::parse();
    let settings = chat_load::LoadSettings {
        http: arguments.http,
        token: arguments.token,
        entry: arguments.entry,
        agent_prefix: arguments.agent_prefix,
        agents: arguments.agents,
        sessions: arguments.sessions,
        messages_per_s: arguments.rate,
        duration_s: arguments.duration,
        connects_per_s: arguments.connects_per_s,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let report = runtime.block_on(chat_load::run(settings));
    print!("{}", report.lines());
    if report.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

//! `switchboard`: the command-line program. Argument parsing, progress and wiring only; the
//! work happens in the crates.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod audit_command;
mod calibrate_command;
mod chaos_command;
mod check;
mod compare_command;
mod compliance_commands;
mod cost_command;
mod ivr_command;
mod plan_command;
mod replay_command;
mod report_command;
#[cfg(test)]
mod scenario_doc_tests;
pub mod scenario_file;
mod sensitive_words_file;
mod serve_command;
mod sim_command;
mod sweep_command;
mod terminal;

pub use terminal::table_width;

/// mimalloc instead of the system allocator: see the dependency's comment in Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A reference contact-center engine with a deterministic simulator around it.
#[derive(Parser)]
#[command(name = "switchboard", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Check(check::CheckArgs),
    Calibrate(calibrate_command::CalibrateArgs),
    /// Answer real calls: SIP B2BUA, registrar, HTTP API and CDR store around the engine.
    Serve(serve_command::ServeArgs),
    Plan(plan_command::PlanArgs),
    Sim(sim_command::SimArgs),
    Cost(cost_command::CostArgs),
    Sweep(sweep_command::SweepArgs),
    Merge(sweep_command::MergeArgs),
    Report(report_command::ReportArgs),
    Compare(compare_command::CompareArgs),
    Replay(replay_command::ReplayArgs),
    Chaos(chaos_command::ChaosArgs),
    Audit(audit_command::AuditArgs),
    Ivr(ivr_command::IvrArgs),
    Token(compliance_commands::TokenArgs),
    Recording(compliance_commands::RecordingArgs),
    /// Delete encrypted recordings and transcripts past their retention time (`retention sweep`).
    Retention(compliance_commands::RetentionArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_) | Command::Replay(_)) {
        end_quietly_when_the_reader_goes();
    }
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Calibrate(args) => calibrate_command::run(args),
        Command::Serve(args) => serve_command::run(args),
        Command::Plan(args) => plan_command::run(args),
        Command::Sim(args) => sim_command::run(args),
        Command::Cost(args) => cost_command::run(args),
        Command::Sweep(args) => sweep_command::run_sweep(args),
        Command::Merge(args) => sweep_command::run_merge(args),
        Command::Report(args) => report_command::run(args),
        Command::Compare(args) => compare_command::run(args),
        Command::Replay(args) => replay_command::run(args),
        Command::Chaos(args) => chaos_command::run(args),
        Command::Audit(args) => audit_command::run(args),
        Command::Ivr(args) => ivr_command::run(args),
        Command::Token(args) => compliance_commands::run_token(args),
        Command::Recording(args) => compliance_commands::run_recording(args),
        Command::Retention(args) => compliance_commands::run_retention(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Rust starts a program with SIGPIPE ignored, so `println!` to a pipe whose reader has gone
/// (`switchboard sim … | head -1`) panics with "failed printing to stdout". A command that
/// only prints should end as other Unix tools do, by the signal's default action. Not for the
/// commands that hold network sockets (`serve`, `replay`): a peer closing a connection must
/// never end the server, and there the ignored signal turns into an error the code handles.
fn end_quietly_when_the_reader_goes() {
    use nix::sys::signal::{signal, SigHandler, Signal};
    // SAFETY: called at the start of `main`, before any thread is spawned, and SIG_DFL
    // installs no handler of ours that could run at an unsafe moment.
    let restored = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
    debug_assert!(restored.is_ok(), "SIGPIPE is a valid signal");
}

//! Compliance and risk control for Switchboard: who may do what (roles and tokens hashed at
//! rest), what was done (a tamper-evident audit log with signed checkpoints), what is kept and
//! how (encryption at rest, retention), and what text may carry (PII masking, sensitive-word
//! interception, sentiment).
//!
//! The live runtime and the command-line program call it; chat and recording code calls its
//! APIs (`words::SensitiveWords::check_message`, `at_rest::Keyring::encrypt_to`). It never
//! starts a task, opens a socket or reads the clock: times come in as arguments, so every
//! decision can be tested with fixed inputs. Files it is handed (audit log folders, key files,
//! encrypted recordings) are the only I/O it does.

pub mod at_rest;
pub mod audit;
pub mod fold;
pub mod guard;
pub mod mask;
pub mod note;
pub mod retention;
pub mod roles;
pub mod sentiment;
pub mod words;

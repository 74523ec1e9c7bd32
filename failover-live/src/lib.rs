//! # switchboard-failover-live
//!
//! The live side of two-site failover (`docs/failover.md`, "Live failover"): two or more
//! `switchboard serve` nodes behind a carrier's proxy that probes them with OPTIONS and sends
//! new calls to the ones that answer. This crate turns what the carrier's callers saw into the
//! simulator's figures, so that a live kill and a simulated `site-outage` are read the same
//! way: the callers' log ([`caller_log`]: one line per INVITE, answer, refusal, end or drop,
//! with its wall-clock time) and the switchover of one fault measured from it ([`switchover`]:
//! RTO by the simulator's own definition, calls failed during detection, refused while no site
//! was up, dropped in conversation).
//!
//! A site's side of it is [`lease`]: the site's lease in an etcd cluster that spans the sites
//! and an arbiter, kept alive while the site may serve, and the fence it raises (new calls and
//! the carrier's probes refused with 503) when the lease cannot be renewed; and
//! [`replication`]: its callback requests kept in etcd beside the lease, and the takeover of
//! a lost site's requests by a site that still holds its lease.
//!
//! What it never does: place calls, run processes or decide for the cluster. The callers
//! (SIPp), the proxy (Kamailio) and the sites are driven by the tests and scripts that use it;
//! agreement between the sites is etcd's (Raft), never computed here; the live runtime knows
//! nothing of this crate: `switchboard serve` tells its switch to raise or open the fence.

pub mod caller_log;
mod gateway;
pub mod lease;
pub mod replication;
pub mod switchover;

pub use caller_log::{CallerLog, CallerLogError, LoggedCall};
pub use switchover::{Switchover, SwitchoverWindow};

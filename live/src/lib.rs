//! # switchboard-live
//!
//! The live runtime of Switchboard: it answers real calls by driving the engine's [`Center`]
//! from a SIP B2BUA, a registrar for agent phones, an HTTP API and a CDR store.
//!
//! The protocol work is sans-IO like the engine: SIP parsing, transactions, the registrar and
//! the B2BUA are plain state machines fed with datagrams and the time, and a thin tokio loop
//! moves bytes between them and the socket. Media is anchored by `switchboard-media`'s
//! sans-IO relay: the B2BUA's `media_plane` picks ports and writes the switch's SDP, and the
//! `media` driver runs one tokio task per call. What it never does: decide routing (the engine
//! does), let network input panic the process, or block call handling on a disk write.
//!
//! [`Center`]: switchboard_engine::Center

pub mod sip;

pub mod access;
pub mod api;
pub mod auth;
pub mod call_record;
pub mod cdr;
pub mod chat;
pub mod chat_webhook;
pub mod config;
pub mod contact_attributes;
pub mod crm;
pub mod desk;
pub mod dialog;
pub mod editor;
pub mod faq_bot;
pub mod http;
pub mod media;
pub mod media_plane;
pub mod metrics;
pub mod outbound_http;
pub mod recording_store;
pub mod registrar;
pub mod runtime;
pub mod secret_ids;
pub mod streams;
pub mod switch;
pub mod ticket;
pub mod trunk;
pub mod trunk_registration;
pub mod wallboard;
pub mod wallboard_tally;

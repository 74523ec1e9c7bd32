//! SIP over UDP: messages ([`message`]) and RFC 3261 transactions ([`transaction`]), both
//! sans-IO.

pub mod message;
pub mod transaction;

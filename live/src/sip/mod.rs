//! SIP over UDP, TCP and TLS: messages ([`message`]), RFC 3261 transactions ([`transaction`]),
//! transports ([`transport`]) and the framing of streams ([`framing`]), all sans-IO.

pub mod framing;
pub mod message;
pub mod transaction;
pub mod transport;

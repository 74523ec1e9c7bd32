//! SIP over TCP and TLS: listeners, connections and their limits, for the switch task.
//!
//! Each connection is a tokio task that reads bytes, cuts them into messages with the sans-IO
//! [`StreamFramer`] and hands them to the switch task over one bounded channel; what the switch
//! sends to a stream peer goes to that connection's bounded write queue. The switch task owns
//! the table of connections ([`Streams`]), so no state is shared. Limits:
//!
//! - at most `max_connections` connections, accepted and opened together (a semaphore); one
//!   more accepted connection is closed at once;
//! - a write queue of [`WRITE_QUEUE`] messages per connection; a peer that does not read is
//!   cut off rather than let its queue grow;
//! - a connection with no bytes in either direction for `idle_timeout` is closed (phones send
//!   CRLF keep-alives, RFC 5626);
//! - a stream that loses its framing (see [`crate::sip::framing`]) is closed; nothing a peer
//!   sends can panic the task.
//!
//! A message to a TCP address with no connection opens one (RFC 3261 §18.1.1). A message to a
//! TLS address (a `sips:` Contact or gateway) with no connection opens one too when the switch
//! has a client configuration ([`Streams::with_tls_connector`], from `[live.tls]
//! ca_certificates`): the peer's certificate must chain to one of those CAs and name the IP
//! address it is reached at, since a Contact or gateway is reached by address. Without one,
//! TLS is only spoken on connections the peer opened, and such a message is dropped.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};

use crate::sip::framing::StreamFramer;
use crate::sip::transaction::{Transmit, Transport};

/// The TLS side of a listener (tokio-rustls over rustls with the ring provider).
pub type TlsAcceptor = tokio_rustls::TlsAcceptor;
/// The TLS side of connections the switch opens.
pub type TlsConnector = tokio_rustls::TlsConnector;

/// Messages waiting to be written on one connection at most.
pub const WRITE_QUEUE: usize = 1_024;
/// Events from all connections waiting for the switch task at most (backpressure on readers).
pub const EVENT_QUEUE: usize = 4_096;
/// Bytes read at once from a connection.
const READ_CHUNK: usize = 16 * 1024;
/// How long opening a connection (TCP, then the TLS handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What a connection task tells the switch task.
#[derive(Debug)]
pub enum StreamEvent {
    /// A connection is up (accepted or opened); writes to `peer` go to `writer`.
    Opened {
        peer: SocketAddr,
        transport: Transport,
        writer: mpsc::Sender<Vec<u8>>,
    },
    /// One whole message from `peer`.
    Message {
        peer: SocketAddr,
        transport: Transport,
        bytes: Vec<u8>,
    },
    /// The connection with `peer` is gone (closed, broken, idle, or never opened).
    Closed { peer: SocketAddr },
}

/// Limits of the stream transports.
#[derive(Clone, Copy, Debug)]
pub struct StreamSettings {
    pub max_connections: usize,
    pub idle_timeout: Duration,
}

/// The switch task's side of every TCP and TLS connection; see the module documentation.
pub struct Streams {
    settings: StreamSettings,
    events: mpsc::Receiver<StreamEvent>,
    event_sender: mpsc::Sender<StreamEvent>,
    connections: HashMap<SocketAddr, (Transport, mpsc::Sender<Vec<u8>>)>,
    /// Messages for TCP peers whose connection is being opened.
    connecting: HashMap<SocketAddr, Vec<Vec<u8>>>,
    permits: Arc<Semaphore>,
    /// Opens TLS connections to peers with none open; without it such messages are dropped.
    tls_connector: Option<TlsConnector>,
}

impl Streams {
    pub fn new(settings: StreamSettings) -> Streams {
        assert!(settings.max_connections > 0);
        let (event_sender, events) = mpsc::channel(EVENT_QUEUE);
        Streams {
            settings,
            events,
            event_sender,
            connections: HashMap::new(),
            connecting: HashMap::new(),
            permits: Arc::new(Semaphore::new(settings.max_connections)),
            tls_connector: None,
        }
    }

    /// Open a TLS connection with `connector` to a TLS peer that has none open.
    pub fn with_tls_connector(mut self, connector: TlsConnector) -> Streams {
        self.tls_connector = Some(connector);
        self
    }

    /// Connections open now.
    pub fn connection_count(&self) -> usize {
        self.connections.len()
    }

    /// Accept TCP connections on `listener`; with `tls`, each one is a TLS server session.
    pub fn listen(&self, listener: TcpListener, tls: Option<TlsAcceptor>) {
        let events = self.event_sender.clone();
        let permits = self.permits.clone();
        let settings = self.settings;
        tokio::spawn(async move {
            loop {
                let (stream, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: wait rather than spin.
                        tracing::warn!(%error, "accepting a SIP connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    tracing::warn!(%peer, "too many SIP connections: closed");
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let events = events.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    match tls {
                        None => {
                            run_connection(stream, peer, Transport::Tcp, events, settings).await
                        }
                        Some(acceptor) => {
                            let handshake = tokio::time::timeout(
                                settings.idle_timeout.min(Duration::from_secs(10)),
                                acceptor.accept(stream),
                            )
                            .await;
                            match handshake {
                                Ok(Ok(stream)) => {
                                    run_connection(stream, peer, Transport::Tls, events, settings)
                                        .await
                                }
                                Ok(Err(error)) => {
                                    tracing::debug!(%peer, %error, "TLS handshake failed")
                                }
                                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                            }
                        }
                    }
                });
            }
        });
    }

    /// The next event of any connection.
    pub async fn next_event(&mut self) -> Option<StreamEvent> {
        self.events.recv().await
    }

    /// Book-keeping of an event; returns it for the switch when it concerns it.
    pub fn note(&mut self, event: &StreamEvent) {
        match event {
            StreamEvent::Opened {
                peer,
                transport,
                writer,
            } => {
                self.connections.insert(*peer, (*transport, writer.clone()));
                for bytes in self.connecting.remove(peer).unwrap_or_default() {
                    self.write(*peer, bytes);
                }
            }
            StreamEvent::Closed { peer } => {
                self.connections.remove(peer);
                self.connecting.remove(peer);
            }
            StreamEvent::Message { .. } => {}
        }
    }

    /// Send on the connection with the destination: an open one, or a new one (TCP, or TLS
    /// with a connector).
    pub fn send(&mut self, transmit: Transmit) {
        debug_assert!(transmit.transport.is_reliable());
        if self.connections.contains_key(&transmit.destination) {
            self.write(transmit.destination, transmit.bytes);
            return;
        }
        if let Some(queued) = self.connecting.get_mut(&transmit.destination) {
            if queued.len() < WRITE_QUEUE {
                queued.push(transmit.bytes);
            }
            return;
        }
        let tls_connector = match transmit.transport {
            Transport::Tls => match &self.tls_connector {
                Some(connector) => Some(connector.clone()),
                None => {
                    tracing::debug!(destination = %transmit.destination, "no TLS connection to the peer and no [live.tls] ca_certificates to open one: message dropped");
                    return;
                }
            },
            _ => None,
        };
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            tracing::warn!(destination = %transmit.destination, "too many SIP connections: message dropped");
            return;
        };
        let peer = transmit.destination;
        self.connecting.insert(peer, vec![transmit.bytes]);
        let events = self.event_sender.clone();
        let settings = self.settings;
        tokio::spawn(async move {
            let _permit = permit;
            let connected = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(peer)).await;
            let Ok(Ok(stream)) = connected else {
                tracing::debug!(%peer, "cannot open a SIP connection");
                let _ = events.send(StreamEvent::Closed { peer }).await;
                return;
            };
            let _ = stream.set_nodelay(true);
            let Some(connector) = tls_connector else {
                return run_connection(stream, peer, Transport::Tcp, events, settings).await;
            };
            // The peer is reached by address, so its certificate must name that address.
            let name = rustls::pki_types::ServerName::IpAddress(peer.ip().into());
            match tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, stream)).await {
                Ok(Ok(stream)) => {
                    run_connection(stream, peer, Transport::Tls, events, settings).await
                }
                Ok(Err(error)) => {
                    tracing::warn!(%peer, %error, "TLS handshake with the peer failed");
                    let _ = events.send(StreamEvent::Closed { peer }).await;
                }
                Err(_) => {
                    tracing::warn!(%peer, "TLS handshake with the peer timed out");
                    let _ = events.send(StreamEvent::Closed { peer }).await;
                }
            }
        });
    }

    fn write(&mut self, peer: SocketAddr, bytes: Vec<u8>) {
        let Some((_, writer)) = self.connections.get(&peer) else {
            return;
        };
        if writer.try_send(bytes).is_err() {
            // A peer that does not read its messages (or a closed writer): cut it off.
            tracing::warn!(%peer, "SIP connection not draining its messages: closed");
            self.connections.remove(&peer);
        }
    }
}

/// One connection: reads into the framer and forwards messages; writes what the switch
/// queues. Ends on close, error, framing loss or idleness, and says so with `Closed`.
async fn run_connection<S>(
    stream: S,
    peer: SocketAddr,
    transport: Transport,
    events: mpsc::Sender<StreamEvent>,
    settings: StreamSettings,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let (write_sender, mut write_queue) = mpsc::channel::<Vec<u8>>(WRITE_QUEUE);
    let opened = StreamEvent::Opened {
        peer,
        transport,
        writer: write_sender,
    };
    if events.send(opened).await.is_err() {
        return;
    }
    let mut framer = StreamFramer::default();
    let mut buffer = vec![0u8; READ_CHUNK];
    loop {
        let idle = tokio::time::sleep(settings.idle_timeout);
        tokio::select! {
            read = reader.read(&mut buffer) => {
                let length = match read {
                    Ok(0) | Err(_) => break,
                    Ok(length) => length,
                };
                if let Err(error) = framer.push(&buffer[..length]) {
                    tracing::info!(%peer, %error, "SIP stream lost its framing: connection closed");
                    break;
                }
                while let Some(bytes) = framer.poll_message() {
                    let message = StreamEvent::Message { peer, transport, bytes };
                    if events.send(message).await.is_err() {
                        return;
                    }
                }
            }
            queued = write_queue.recv() => {
                let Some(bytes) = queued else { break };
                if writer.write_all(&bytes).await.is_err() {
                    break;
                }
            }
            _ = idle => {
                tracing::debug!(%peer, "idle SIP connection closed");
                break;
            }
        }
    }
    let _ = writer.shutdown().await;
    let _ = events.send(StreamEvent::Closed { peer }).await;
}

/// A TLS server configuration from a PEM certificate chain and a PEM private key.
pub fn tls_acceptor(certificate_pem: &[u8], private_key_pem: &[u8]) -> Result<TlsAcceptor, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_slice_iter(certificate_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| format!("certificate: {error}"))?;
    if chain.is_empty() {
        return Err("certificate: no PEM certificate in the file".into());
    }
    let key = PrivateKeyDer::from_pem_slice(private_key_pem)
        .map_err(|error| format!("private key: {error}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("TLS: {error}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|error| format!("certificate and key: {error}"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A TLS client configuration that trusts the CA certificates of a PEM file (and nothing else:
/// peers of a contact center are its own phones and its carriers).
pub fn tls_connector(ca_certificates_pem: &[u8]) -> Result<TlsConnector, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(ca_certificates_pem) {
        let certificate = certificate.map_err(|error| format!("CA certificates: {error}"))?;
        roots
            .add(certificate)
            .map_err(|error| format!("CA certificates: {error}"))?;
    }
    if roots.is_empty() {
        return Err("CA certificates: no PEM certificate in the file".into());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("TLS: {error}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

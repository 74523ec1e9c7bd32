//! The media plane's tokio driver: one task per call owns the call's [`CallMedia`] and its
//! two RTP sockets (caller leg, agent leg), and moves datagrams between them and the sockets.
//!
//! The B2BUA stays sans-IO: it emits [`MediaCommand`]s (open a leg on a port, the leg's
//! negotiated media, what a leg hears, connect, secure entry, recording, close) and takes
//! [`CallEvent`]s (keys, media timeouts, latching, recordings stopped). [`MediaDriver`] binds
//! the sockets, spawns the tasks and routes commands to them through bounded channels; events
//! come back through one bounded channel the switch task reads. Recordings are written by a
//! thread of their own through [`crate::recording_store::RecordingStore`] (plain WAV, or
//! encrypted at rest when the file is named `*.wav.sbenc`), so no call task ever waits for the
//! disk.
//!
//! Added latency is measured on every relayed packet: the kernel stamps each datagram on
//! arrival (`SO_TIMESTAMPNS`), and the time from that stamp to the moment the rewritten
//! packet is handed back to the kernel goes into a histogram (`RelayStats`).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use switchboard_media::audio::Audio;
use switchboard_media::recording_file::RecordingSink;
use switchboard_media::rtp::MAX_PACKET_BYTES;
use switchboard_media::sdp::Negotiated;
use switchboard_media::{CallMedia, Hears, MediaEvent, RecordingSummary, Side};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::recording_store::RecordingStore;

/// Commands waiting for one call's task at most.
const CALL_COMMAND_QUEUE: usize = 64;
/// Events waiting for the switch task at most (every call's together).
pub const EVENT_QUEUE: usize = 4_096;
/// Recording chunks waiting for the writer thread at most (one chunk is a second of a call).
const RECORDING_QUEUE: usize = 1_024;
/// Datagrams read in a row from one socket before the task looks at its other inputs.
const READ_BURST: usize = 16;

/// What the B2BUA asks of a call's media. `call` is the contact id.
#[derive(Clone, Debug)]
pub enum MediaCommand {
    /// Bind the leg's RTP socket on `port` of the media address.
    Open {
        call: u64,
        side: Side,
        port: u16,
    },
    /// The leg's offer/answer completed (or a re-INVITE changed it).
    SetRemote {
        call: u64,
        side: Side,
        negotiated: Negotiated,
    },
    /// What the leg hears from now on.
    Hears {
        call: u64,
        side: Side,
        hears: Hears,
    },
    /// Play clips over what the leg hears (an announcement over music).
    Announce {
        call: u64,
        side: Side,
        clips: Vec<Audio>,
    },
    /// Each leg hears the other.
    Connect {
        call: u64,
    },
    /// Secure entry on or off (keys and voice hidden from the agent, recording paused).
    Secure {
        call: u64,
        on: bool,
    },
    StartRecording {
        call: u64,
        path: PathBuf,
    },
    StopRecording {
        call: u64,
    },
    /// The leg is gone; its socket stays bound until the call closes.
    ClearLeg {
        call: u64,
        side: Side,
    },
    /// The call is over: its task stops and its sockets close.
    Close {
        call: u64,
    },
}

impl MediaCommand {
    pub fn call(&self) -> u64 {
        match self {
            MediaCommand::Open { call, .. }
            | MediaCommand::SetRemote { call, .. }
            | MediaCommand::Hears { call, .. }
            | MediaCommand::Announce { call, .. }
            | MediaCommand::Connect { call }
            | MediaCommand::Secure { call, .. }
            | MediaCommand::StartRecording { call, .. }
            | MediaCommand::StopRecording { call }
            | MediaCommand::ClearLeg { call, .. }
            | MediaCommand::Close { call } => *call,
        }
    }
}

/// Something a call's media tells the switch.
#[derive(Clone, Debug, PartialEq)]
pub enum DriverEvent {
    Media(MediaEvent),
    /// The leg's port could not be bound (taken by another program).
    OpenFailed {
        side: Side,
        error: String,
    },
    /// A recording was stopped and its file completed (or failed).
    RecordingStopped {
        path: PathBuf,
        summary: RecordingSummary,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct CallEvent {
    pub call: u64,
    pub event: DriverEvent,
}

/// Counters and the added-latency histogram of every call's relay, shared by the tasks.
pub struct RelayStats {
    pub received: AtomicU64,
    pub relayed: AtomicU64,
    pub generated: AtomicU64,
    pub dropped: AtomicU64,
    pub send_errors: AtomicU64,
    /// Microseconds from the kernel's arrival stamp to the send of the relayed packet.
    latency_us: Mutex<hdrhistogram::Histogram<u64>>,
}

impl Default for RelayStats {
    fn default() -> Self {
        RelayStats {
            received: AtomicU64::new(0),
            relayed: AtomicU64::new(0),
            generated: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            send_errors: AtomicU64::new(0),
            latency_us: Mutex::new(latency_histogram()),
        }
    }
}

fn latency_histogram() -> hdrhistogram::Histogram<u64> {
    hdrhistogram::Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

impl RelayStats {
    /// (count, p50, p99, p99.9, max) of the added latency, in microseconds.
    pub fn latency_us(&self) -> (u64, u64, u64, u64, u64) {
        let histogram = self
            .latency_us
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (
            histogram.len(),
            histogram.value_at_quantile(0.5),
            histogram.value_at_quantile(0.99),
            histogram.value_at_quantile(0.999),
            histogram.max(),
        )
    }

    fn merge(&self, local: &mut hdrhistogram::Histogram<u64>) {
        if local.is_empty() {
            return;
        }
        let mut histogram = self
            .latency_us
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let _ = histogram.add(&*local);
        local.reset();
    }
}

/// Where and how the driver runs calls' media.
#[derive(Clone, Debug)]
pub struct MediaSettings {
    /// The address RTP sockets bind to (and that SDP advertises).
    pub address: IpAddr,
    /// A leg silent this long is reported (0: never).
    pub media_timeout_ms: u64,
    /// How recordings are written: the master keys of `*.wav.sbenc` files, if any.
    pub recordings: RecordingStore,
}

enum CallCommand {
    Open { side: Side, socket: UdpSocket },
    Media(MediaCommand),
}

/// See the module documentation.
pub struct MediaDriver {
    settings: MediaSettings,
    /// Sockets bound by [`MediaDriver::port_reserver`] before their port went into SDP,
    /// waiting for their call's `Open`.
    reserved: Arc<Mutex<HashMap<u16, std::net::UdpSocket>>>,
    start: Instant,
    calls: HashMap<u64, mpsc::Sender<CallCommand>>,
    events: mpsc::Sender<CallEvent>,
    recordings: std::sync::mpsc::SyncSender<RecordingMessage>,
    recording_thread: Option<std::thread::JoinHandle<()>>,
    stats: Arc<RelayStats>,
}

impl MediaDriver {
    /// `start` is the instant of time 0 shared with the switch. Call within a tokio runtime.
    pub fn new(
        settings: MediaSettings,
        start: Instant,
    ) -> (MediaDriver, mpsc::Receiver<CallEvent>) {
        let (events, receiver) = mpsc::channel(EVENT_QUEUE);
        let (recordings, recording_receiver) = std::sync::mpsc::sync_channel(RECORDING_QUEUE);
        let recording_events = events.clone();
        let mut store = settings.recordings.clone();
        let recording_thread = std::thread::Builder::new()
            .name("recording-writer".into())
            .spawn(move || write_recordings(&mut store, recording_receiver, recording_events))
            .expect("a thread can be started at start-up");
        (
            MediaDriver {
                settings,
                reserved: Arc::default(),
                start,
                calls: HashMap::new(),
                events,
                recordings,
                recording_thread: Some(recording_thread),
                stats: Arc::new(RelayStats::default()),
            },
            receiver,
        )
    }

    /// The switch's way to reserve a port: bind it now (so that SDP never names a port another
    /// program holds); the socket waits for the call's `Open`.
    pub fn port_reserver(&self) -> Box<dyn FnMut(u16) -> bool + Send> {
        let reserved = self.reserved.clone();
        let address = self.settings.address;
        Box::new(
            move |port| match std::net::UdpSocket::bind(SocketAddr::new(address, port)) {
                Ok(socket) => {
                    reserved
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .insert(port, socket);
                    true
                }
                Err(error) => {
                    tracing::debug!(port, %error, "RTP port held elsewhere");
                    false
                }
            },
        )
    }

    pub fn stats(&self) -> Arc<RelayStats> {
        self.stats.clone()
    }

    pub fn calls(&self) -> usize {
        self.calls.len()
    }

    /// Carry out one command of the switch.
    pub fn apply(&mut self, command: MediaCommand) {
        let call = command.call();
        match command {
            MediaCommand::Open { side, port, .. } => {
                let sender = self.call_task(call);
                let reserved = self
                    .reserved
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .remove(&port);
                let socket = match reserved {
                    Some(socket) => Ok(socket),
                    None => std::net::UdpSocket::bind(SocketAddr::new(self.settings.address, port)),
                };
                match socket.and_then(prepare) {
                    Ok(socket) => {
                        if sender.try_send(CallCommand::Open { side, socket }).is_err() {
                            tracing::error!(call, "media task does not take commands");
                        }
                    }
                    Err(error) => {
                        let _ = self.events.try_send(CallEvent {
                            call,
                            event: DriverEvent::OpenFailed {
                                side,
                                error: format!("cannot bind RTP port {port}: {error}"),
                            },
                        });
                    }
                }
            }
            MediaCommand::Close { .. } => {
                if let Some(sender) = self.calls.remove(&call) {
                    let _ = sender.try_send(CallCommand::Media(command));
                }
            }
            other => {
                if let Some(sender) = self.calls.get(&call) {
                    if sender.try_send(CallCommand::Media(other)).is_err() {
                        tracing::error!(call, "media task does not take commands");
                    }
                }
            }
        }
    }

    fn call_task(&mut self, call: u64) -> mpsc::Sender<CallCommand> {
        if let Some(sender) = self.calls.get(&call) {
            return sender.clone();
        }
        let (sender, receiver) = mpsc::channel(CALL_COMMAND_QUEUE);
        let task = CallTask {
            call,
            media: CallMedia::new(call, self.settings.media_timeout_ms),
            sockets: [None, None],
            start: self.start,
            events: self.events.clone(),
            recordings: self.recordings.clone(),
            recording: None,
            recording_backlog: VecDeque::new(),
            stats: self.stats.clone(),
            latency_us: latency_histogram(),
        };
        tokio::spawn(task.run(receiver));
        self.calls.insert(call, sender.clone());
        sender
    }

    /// Close every call and wait for the recording writer to complete every file.
    pub fn shut_down(mut self) {
        for (call, sender) in self.calls.drain() {
            let _ = sender.try_send(CallCommand::Media(MediaCommand::Close { call }));
        }
        let (replacement, _) = std::sync::mpsc::sync_channel(1);
        drop(std::mem::replace(&mut self.recordings, replacement));
        // Tasks hold senders too; they finish their files as they close.
        if let Some(thread) = self.recording_thread.take() {
            let _ = thread.join();
        }
    }
}

fn prepare(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
    socket.set_nonblocking(true)?;
    nix::sys::socket::setsockopt(
        &socket,
        nix::sys::socket::sockopt::ReceiveTimestampns,
        &true,
    )
    .map_err(io::Error::from)?;
    UdpSocket::from_std(socket)
}

/// Read one datagram and the kernel's arrival stamp (ns since the Unix epoch).
fn receive_stamped(
    socket: &UdpSocket,
    buffer: &mut [u8],
) -> io::Result<(usize, SocketAddr, Option<i128>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrStorage};
    let mut space = nix::cmsg_space!(nix::sys::time::TimeSpec);
    let mut iov = [io::IoSliceMut::new(buffer)];
    let message = recvmsg::<SockaddrStorage>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_DONTWAIT,
    )
    .map_err(io::Error::from)?;
    let mut stamp = None;
    for control in message.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmTimestampns(time) = control {
            stamp = Some(time.tv_sec() as i128 * 1_000_000_000 + time.tv_nsec() as i128);
        }
    }
    let source = message
        .address
        .and_then(|address| {
            address
                .as_sockaddr_in()
                .map(|v4| SocketAddr::from(std::net::SocketAddrV4::from(*v4)))
                .or_else(|| {
                    address
                        .as_sockaddr_in6()
                        .map(|v6| SocketAddr::from(std::net::SocketAddrV6::from(*v6)))
                })
        })
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "datagram without a source"))?;
    Ok((message.bytes, source, stamp))
}

fn unix_now_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos() as i128)
        .unwrap_or(0)
}

enum RecordingMessage {
    Open {
        call: u64,
        path: PathBuf,
    },
    Append {
        call: u64,
        samples: Vec<i16>,
    },
    Finish {
        call: u64,
        summary: RecordingSummary,
    },
}

/// The recording writer thread: one sink per recorded call.
fn write_recordings(
    store: &mut RecordingStore,
    messages: std::sync::mpsc::Receiver<RecordingMessage>,
    events: mpsc::Sender<CallEvent>,
) {
    let mut sinks: HashMap<u64, (PathBuf, Option<Box<dyn RecordingSink>>)> = HashMap::new();
    while let Ok(message) = messages.recv() {
        match message {
            RecordingMessage::Open { call, path } => {
                // Retention counts a recording's age from this wall-clock time in its header.
                let created_unix_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |since| since.as_millis() as i64);
                let sink = match store.open(&path, created_unix_ms) {
                    Ok(sink) => Some(sink),
                    Err(problem) => {
                        tracing::error!(call, %problem, "recording not started");
                        None
                    }
                };
                sinks.insert(call, (path, sink));
            }
            RecordingMessage::Append { call, samples } => {
                if let Some((path, Some(sink))) = sinks.get_mut(&call) {
                    if let Err(problem) = sink.append(&samples) {
                        tracing::error!(call, path = %path.display(), %problem, "recording write failed");
                    }
                }
            }
            RecordingMessage::Finish { call, summary } => {
                if let Some((path, sink)) = sinks.remove(&call) {
                    if let Some(sink) = sink {
                        if let Err(problem) = sink.finish() {
                            tracing::error!(call, %problem, "recording not completed");
                        }
                    }
                    let _ = events.blocking_send(CallEvent {
                        call,
                        event: DriverEvent::RecordingStopped { path, summary },
                    });
                }
            }
        }
    }
    for (call, (_, sink)) in sinks {
        if let Some(sink) = sink {
            if let Err(problem) = sink.finish() {
                tracing::error!(call, %problem, "recording not completed at shutdown");
            }
        }
    }
}

struct CallTask {
    call: u64,
    media: CallMedia,
    sockets: [Option<UdpSocket>; 2],
    start: Instant,
    events: mpsc::Sender<CallEvent>,
    recordings: std::sync::mpsc::SyncSender<RecordingMessage>,
    recording: Option<PathBuf>,
    /// Messages the writer's full queue did not take yet; retried on every turn.
    recording_backlog: VecDeque<RecordingMessage>,
    stats: Arc<RelayStats>,
    latency_us: hdrhistogram::Histogram<u64>,
}

async fn readable(socket: &Option<UdpSocket>) -> io::Result<()> {
    match socket {
        Some(socket) => socket.readable().await,
        None => std::future::pending().await,
    }
}

impl CallTask {
    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    async fn run(mut self, mut commands: mpsc::Receiver<CallCommand>) {
        let mut buffer = vec![0u8; MAX_PACKET_BYTES + 1];
        let mut next_merge_ms = self.now_ms() + 1_000;
        loop {
            let deadline = self
                .media
                .poll_timeout()
                .map(|at_ms| self.start + std::time::Duration::from_millis(at_ms));
            let mut readable_side = None;
            tokio::select! {
                biased;
                command = commands.recv() => match command {
                    None => break,
                    Some(CallCommand::Open { side, socket }) => self.sockets[side.index()] = Some(socket),
                    Some(CallCommand::Media(MediaCommand::Close { .. })) => break,
                    Some(CallCommand::Media(command)) => self.command(command),
                },
                Ok(()) = readable(&self.sockets[0]) => readable_side = Some(Side::Caller),
                Ok(()) = readable(&self.sockets[1]) => readable_side = Some(Side::Agent),
                _ = sleep_until(deadline) => self.media.handle_timeout(self.now_ms()),
            }
            if let Some(side) = readable_side {
                self.read_burst(side, &mut buffer).await;
            }
            self.flush(&mut buffer).await;
            let now_ms = self.now_ms();
            if now_ms >= next_merge_ms {
                self.stats.merge(&mut self.latency_us);
                next_merge_ms = now_ms + 1_000;
            }
        }
        let now_ms = self.now_ms();
        self.stop_recording(now_ms);
        self.flush(&mut buffer).await;
        self.stats.merge(&mut self.latency_us);
        // The writer may be full: the last messages wait for it (the call is over).
        for message in self.recording_backlog.drain(..) {
            let _ = self.recordings.send(message);
        }
    }

    fn command(&mut self, command: MediaCommand) {
        let now_ms = self.now_ms();
        match command {
            MediaCommand::SetRemote {
                side, negotiated, ..
            } => self.media.set_remote(now_ms, side, negotiated),
            MediaCommand::Hears { side, hears, .. } => self.media.set_hears(now_ms, side, hears),
            MediaCommand::Announce { side, clips, .. } => self.media.announce(now_ms, side, clips),
            MediaCommand::Connect { .. } => self.media.connect(),
            MediaCommand::Secure { on, .. } => self.media.set_secure(now_ms, on),
            MediaCommand::StartRecording { path, .. } => {
                if self.recording.is_none() {
                    self.media.start_recording(now_ms);
                    self.recording_backlog.push_back(RecordingMessage::Open {
                        call: self.call,
                        path: path.clone(),
                    });
                    self.recording = Some(path);
                }
            }
            MediaCommand::StopRecording { .. } => self.stop_recording(now_ms),
            MediaCommand::ClearLeg { side, .. } => self.media.clear_leg(side),
            MediaCommand::Open { .. } | MediaCommand::Close { .. } => {}
        }
    }

    fn stop_recording(&mut self, now_ms: u64) {
        if self.recording.take().is_some() {
            if let Some(summary) = self.media.stop_recording(now_ms) {
                while let Some(samples) = self.media.poll_recording() {
                    self.recording_backlog.push_back(RecordingMessage::Append {
                        call: self.call,
                        samples,
                    });
                }
                self.recording_backlog.push_back(RecordingMessage::Finish {
                    call: self.call,
                    summary,
                });
            }
        }
    }

    async fn read_burst(&mut self, side: Side, buffer: &mut [u8]) {
        for _ in 0..READ_BURST {
            let Some(socket) = &self.sockets[side.index()] else {
                return;
            };
            let received = socket.try_io(Interest::READABLE, || receive_stamped(socket, buffer));
            let (length, source, stamp) = match received {
                Ok(received) => received,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) => {
                    // ICMP port unreachable from a peer that is gone, and the like.
                    tracing::debug!(call = self.call, %error, "RTP receive failed");
                    return;
                }
            };
            self.stats.received.fetch_add(1, Ordering::Relaxed);
            if length > MAX_PACKET_BYTES {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let now_ms = self.now_ms();
            let Some(transmit) =
                self.media
                    .handle_packet(now_ms, side, source, &mut buffer[..length])
            else {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let Some(out) = &self.sockets[transmit.side.index()] else {
                continue;
            };
            match out.try_send_to(&buffer[..transmit.length], transmit.destination) {
                Ok(_) => {
                    self.stats.relayed.fetch_add(1, Ordering::Relaxed);
                    if let Some(stamp) = stamp {
                        let added_us = ((unix_now_ns() - stamp) / 1_000).max(1) as u64;
                        let _ = self.latency_us.record(added_us);
                    }
                }
                Err(_) => {
                    self.stats.send_errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    async fn flush(&mut self, buffer: &mut [u8]) {
        while let Some(transmit) = self.media.poll_transmit(buffer) {
            if let Some(socket) = &self.sockets[transmit.side.index()] {
                match socket
                    .send_to(&buffer[..transmit.length], transmit.destination)
                    .await
                {
                    Ok(_) => self.stats.generated.fetch_add(1, Ordering::Relaxed),
                    Err(_) => self.stats.send_errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        }
        while let Some(event) = self.media.poll_event() {
            let event = CallEvent {
                call: self.call,
                event: DriverEvent::Media(event),
            };
            if self.events.send(event).await.is_err() {
                return; // the switch is gone
            }
        }
        while let Some(samples) = self.media.poll_recording() {
            self.recording_backlog.push_back(RecordingMessage::Append {
                call: self.call,
                samples,
            });
        }
        while let Some(message) = self.recording_backlog.pop_front() {
            match self.recordings.try_send(message) {
                Ok(()) => {}
                Err(std::sync::mpsc::TrySendError::Full(message)) => {
                    self.recording_backlog.push_front(message);
                    break;
                }
                Err(std::sync::mpsc::TrySendError::Disconnected(_)) => {
                    self.recording_backlog.clear();
                    break;
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

//! The media plane's driver: a few media worker threads (one per core by default,
//! `[live.media] workers`), each owning a share of the calls — their [`CallMedia`] and their
//! two RTP sockets (caller leg, agent leg) — and moving datagrams between them and the sockets.
//!
//! The B2BUA stays sans-IO: it emits [`MediaCommand`]s (open a leg on a port, the leg's
//! negotiated media, what a leg hears, connect, secure entry, recording, close) and takes
//! [`CallEvent`]s (keys, media timeouts, latching, recordings stopped). [`MediaDriver`] binds
//! the sockets on the switch's task, gives each new call to the worker with the fewest calls
//! and routes commands to it through a bounded channel and an `eventfd` that wakes it; events
//! come back through one bounded channel the switch task reads. Recordings are written by a
//! thread of their own through [`crate::recording_store::RecordingStore`] (plain WAV, or
//! encrypted at rest when the file is named `*.wav.sbenc`), so no worker ever waits for the
//! disk.
//!
//! A worker waits in one level-triggered `epoll_wait` for all its legs, its wake-up `eventfd`
//! and its next timer (20 ms playout of prompts and music, recording chunks, media timeouts,
//! kept in a [`TimerQueue`]). Each ready leg costs one `recvmsg` and, when the packet is
//! relayed, one `sendto`: a leg that still holds datagrams stays ready and comes back in the
//! next wait, so no read ever probes an empty socket, and one wait serves every leg that
//! became ready meanwhile. At 50 packets a second per leg, a tokio task per call would instead
//! be woken for nearly every packet.
//!
//! Added latency is measured on every relayed packet: the kernel stamps each datagram on
//! arrival (`SO_TIMESTAMPNS`), and the time from that stamp to the moment the rewritten
//! packet is handed back to the kernel goes into a histogram (`RelayStats`).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};
use switchboard_media::audio::Audio;
use switchboard_media::recording_file::RecordingSink;
use switchboard_media::rtp::MAX_PACKET_BYTES;
use switchboard_media::sdp::Negotiated;
use switchboard_media::{CallMedia, Hears, MediaEvent, RecordingSummary, Side};
use switchboard_timer_queue::TimerQueue;
use tokio::sync::mpsc;

use crate::recording_store::RecordingStore;

/// Commands waiting for one worker at most (every call's of that worker together).
const WORKER_COMMAND_QUEUE: usize = 4_096;
/// Events waiting for the switch task at most (every call's together).
pub const EVENT_QUEUE: usize = 4_096;
/// Events one worker keeps at most while the switch's queue is full; beyond, they are lost
/// (and logged): the switch has stopped reading.
const EVENT_BACKLOG: usize = EVENT_QUEUE;
/// Recording chunks waiting for the writer thread at most (one chunk is a second of a call).
const RECORDING_QUEUE: usize = 1_024;
/// Ready legs one `epoll_wait` reports at most; the rest wait for the next one.
const READY_BATCH: usize = 256;
/// How soon a worker tries again to hand over events or recording chunks a full queue did
/// not take.
const RETRY_MS: u64 = 10;
/// How often a worker adds its latency histogram to the shared one while it relays.
const MERGE_MS: u64 = 1_000;
/// The epoll token of a worker's wake-up `eventfd`; a leg's token is its call's slot and side.
const WAKE_TOKEN: u64 = u64::MAX;

/// What the B2BUA asks of a call's media. `call` is the contact id.
#[derive(Clone, Debug)]
pub enum MediaCommand {
    /// Bind the leg's RTP socket on `port` of the media address.
    Open { call: u64, side: Side, port: u16 },
    /// The leg's offer/answer completed (or a re-INVITE changed it).
    SetRemote {
        call: u64,
        side: Side,
        negotiated: Negotiated,
    },
    /// What the leg hears from now on.
    Hears { call: u64, side: Side, hears: Hears },
    /// Play clips over what the leg hears (an announcement over music).
    Announce {
        call: u64,
        side: Side,
        clips: Vec<Audio>,
    },
    /// Each leg hears the other.
    Connect { call: u64 },
    /// Secure entry on or off (keys and voice hidden from the agent, recording paused).
    /// `at_ms` is the switch's time of the change: the recording is silent from then, however
    /// late the command reaches the worker.
    Secure { call: u64, on: bool, at_ms: u64 },
    /// Record from `at_ms` (the switch's time) into `path`.
    StartRecording {
        call: u64,
        path: PathBuf,
        at_ms: u64,
    },
    /// The recording ends at `at_ms` (the switch's time).
    StopRecording { call: u64, at_ms: u64 },
    /// The leg is gone; its socket stays bound until the call closes.
    ClearLeg { call: u64, side: Side },
    /// The call is over: its sockets close.
    Close { call: u64 },
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
            | MediaCommand::StopRecording { call, .. }
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

/// How far the switch's media commands are settled, shared by the switch's loop (which
/// publishes it) and the workers (which read it): a worker may write a recording's frames
/// up to [`SwitchProgress::settled_ms`], since no command about them (a secure pause placed
/// at the switch's time) can still come.
///
/// The switch's loop marks itself *waiting* (with its clock) once it has handed every command
/// of a step to the driver and before it waits for the next input, and *busy* before it reads
/// the clock for an input. While it waits, any command it makes later carries a time read
/// after the worker's look, so the worker's own clock (less one quantum of the switch's clock)
/// is settled; while it is busy, only the time it last went waiting is.
#[derive(Debug)]
pub struct SwitchProgress {
    /// The switch's time in ms at its last wait, with [`SwitchProgress::WAITING`] set while
    /// it still waits.
    word: AtomicU64,
    quantum_ms: AtomicU64,
}

impl Default for SwitchProgress {
    /// A switch that never says is taken as always waiting: frames are settled up to the
    /// worker's clock.
    fn default() -> Self {
        SwitchProgress {
            word: AtomicU64::new(SwitchProgress::WAITING),
            quantum_ms: AtomicU64::new(1),
        }
    }
}

impl SwitchProgress {
    const WAITING: u64 = 1 << 63;

    /// Every command of the switch's steps so far is with the driver; the switch waits for its
    /// next input, its clock at `now_ms` (which moves in steps of `quantum_ms`).
    pub fn waiting(&self, now_ms: u64, quantum_ms: u64) {
        assert!(
            now_ms < SwitchProgress::WAITING,
            "a clock of fewer than 2^63 ms"
        );
        self.quantum_ms.store(quantum_ms.max(1), Ordering::Relaxed);
        // Sequentially consistent: the commands sent before are seen by a worker that sees
        // this, and a worker that sees it waiting read its clock before the switch's next read.
        self.word
            .store(now_ms | SwitchProgress::WAITING, Ordering::SeqCst);
    }

    /// The switch takes an input: call before reading its clock for it.
    pub fn busy(&self) {
        self.word
            .fetch_and(!SwitchProgress::WAITING, Ordering::SeqCst);
    }

    /// No command with a time before this is still to come. `worker_now_ms` is the worker's
    /// clock, read before this call.
    pub fn settled_ms(&self, worker_now_ms: u64) -> u64 {
        let word = self.word.load(Ordering::SeqCst);
        let published_ms = word & !SwitchProgress::WAITING;
        if word & SwitchProgress::WAITING == 0 {
            return published_ms;
        }
        let quantum_ms = self.quantum_ms.load(Ordering::Relaxed);
        published_ms.max(worker_now_ms.saturating_sub(quantum_ms))
    }
}

/// Counters and the added-latency histogram of every call's relay, shared by the workers.
/// Each worker adds its counts after every `epoll_wait` and its histogram every second, when
/// it goes idle and when a call closes.
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

    fn add(&self, counts: &mut PacketCounts) {
        for (shared, local) in [
            (&self.received, &mut counts.received),
            (&self.relayed, &mut counts.relayed),
            (&self.generated, &mut counts.generated),
            (&self.dropped, &mut counts.dropped),
            (&self.send_errors, &mut counts.send_errors),
        ] {
            if *local > 0 {
                shared.fetch_add(std::mem::take(local), Ordering::Relaxed);
            }
        }
    }
}

/// A worker's counts since it last added them to [`RelayStats`].
#[derive(Default)]
struct PacketCounts {
    received: u64,
    relayed: u64,
    generated: u64,
    dropped: u64,
    send_errors: u64,
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
    /// Media worker threads (0: one per core).
    pub workers: usize,
    /// 1–99: the workers run under `SCHED_FIFO` at this priority; 0: normal scheduling.
    pub realtime_priority: u8,
}

impl MediaSettings {
    /// The worker threads to start: `workers`, or one per core when it is 0.
    pub fn worker_threads(&self) -> usize {
        match self.workers {
            0 => std::thread::available_parallelism().map_or(1, |cores| cores.get()),
            workers => workers,
        }
    }
}

/// Run the calling worker thread under `SCHED_FIFO` at `priority` (nothing for 0). A worker
/// that may not (no `CAP_SYS_NICE`) says so and goes on with normal scheduling.
///
/// Why: under a load of more runnable threads than cores, a worker woken by a datagram waits
/// for its turn on a core behind the other threads (the scheduler's slices are milliseconds),
/// and the packet waits in its socket. A real-time worker runs as soon as it is woken; the
/// kernel's real-time throttling (`sched_rt_runtime_us`, 95 % by default) keeps a core for
/// the rest.
fn schedule_realtime(worker: usize, priority: u8) {
    use thread_priority::{
        RealtimeThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
    };
    if priority == 0 {
        return;
    }
    let outcome = ThreadPriorityValue::try_from(priority)
        .map_err(|problem| format!("{problem:?}"))
        .and_then(|value| {
            thread_priority::set_thread_priority_and_policy(
                thread_priority::thread_native_id(),
                ThreadPriority::Crossplatform(value),
                ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
            )
            .map_err(|error| format!("{error:?}"))
        });
    match outcome {
        Ok(()) => tracing::info!(worker, priority, "media worker scheduled SCHED_FIFO"),
        Err(error) => tracing::warn!(
            worker,
            priority,
            %error,
            "media worker cannot be scheduled SCHED_FIFO (needs CAP_SYS_NICE): normal scheduling"
        ),
    }
}

enum WorkerCommand {
    Open {
        call: u64,
        side: Side,
        socket: UdpSocket,
    },
    Media(MediaCommand),
}

/// The switch's end of one media worker thread.
struct WorkerHandle {
    commands: SyncSender<WorkerCommand>,
    wake: Arc<EventFd>,
    /// Calls given to the worker and not closed yet.
    calls: usize,
    thread: std::thread::JoinHandle<()>,
}

/// See the module documentation.
pub struct MediaDriver {
    settings: MediaSettings,
    /// Sockets bound by [`MediaDriver::port_reserver`] before their port went into SDP,
    /// waiting for their call's `Open`.
    reserved: Arc<Mutex<HashMap<u16, UdpSocket>>>,
    workers: Vec<WorkerHandle>,
    /// The worker of each open call.
    calls: HashMap<u64, usize>,
    events: mpsc::Sender<CallEvent>,
    recordings: SyncSender<RecordingMessage>,
    recording_thread: Option<std::thread::JoinHandle<()>>,
    stats: Arc<RelayStats>,
    progress: Arc<SwitchProgress>,
}

impl MediaDriver {
    /// `start` is the instant of time 0 shared with the switch. Starts the worker threads and
    /// the recording writer.
    pub fn new(
        settings: MediaSettings,
        start: tokio::time::Instant,
    ) -> (MediaDriver, mpsc::Receiver<CallEvent>) {
        let (events, receiver) = mpsc::channel(EVENT_QUEUE);
        let (recordings, recording_receiver) = std::sync::mpsc::sync_channel(RECORDING_QUEUE);
        let recording_events = events.clone();
        let mut store = settings.recordings.clone();
        let recording_thread = std::thread::Builder::new()
            .name("recording-writer".into())
            .spawn(move || write_recordings(&mut store, recording_receiver, recording_events))
            .expect("a thread can be started at start-up");
        let stats = Arc::new(RelayStats::default());
        let progress = Arc::new(SwitchProgress::default());
        let workers = (0..settings.worker_threads())
            .map(|index| {
                let (commands, receiver) = std::sync::mpsc::sync_channel(WORKER_COMMAND_QUEUE);
                let worker = MediaWorker::new(
                    start.into_std(),
                    settings.media_timeout_ms,
                    receiver,
                    events.clone(),
                    recordings.clone(),
                    stats.clone(),
                    progress.clone(),
                )
                .expect("epoll and eventfd are available at start-up");
                let wake = worker.wake.clone();
                let realtime_priority = settings.realtime_priority;
                let thread = std::thread::Builder::new()
                    .name(format!("media-{index}"))
                    .spawn(move || {
                        schedule_realtime(index, realtime_priority);
                        worker.run()
                    })
                    .expect("a thread can be started at start-up");
                WorkerHandle {
                    commands,
                    wake,
                    calls: 0,
                    thread,
                }
            })
            .collect();
        (
            MediaDriver {
                settings,
                reserved: Arc::default(),
                workers,
                calls: HashMap::new(),
                events,
                recordings,
                recording_thread: Some(recording_thread),
                stats,
                progress,
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
            move |port| match UdpSocket::bind(SocketAddr::new(address, port)) {
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

    /// Where the switch's loop says how far its commands are settled.
    pub fn progress(&self) -> Arc<SwitchProgress> {
        self.progress.clone()
    }

    pub fn calls(&self) -> usize {
        self.calls.len()
    }

    /// Carry out one command of the switch.
    pub fn apply(&mut self, command: MediaCommand) {
        let call = command.call();
        match command {
            MediaCommand::Open { side, port, .. } => {
                let worker = self.worker_of(call);
                let reserved = self
                    .reserved
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .remove(&port);
                let socket = match reserved {
                    Some(socket) => Ok(socket),
                    None => UdpSocket::bind(SocketAddr::new(self.settings.address, port)),
                };
                match socket.and_then(prepare) {
                    Ok(socket) => self.send(worker, WorkerCommand::Open { call, side, socket }),
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
                if let Some(worker) = self.calls.remove(&call) {
                    self.workers[worker].calls -= 1;
                    self.send(worker, WorkerCommand::Media(command));
                }
            }
            other => {
                if let Some(&worker) = self.calls.get(&call) {
                    self.send(worker, WorkerCommand::Media(other));
                }
            }
        }
    }

    /// The worker that runs `call`'s media: a new call goes to the one with the fewest calls.
    fn worker_of(&mut self, call: u64) -> usize {
        if let Some(&worker) = self.calls.get(&call) {
            return worker;
        }
        let worker = (0..self.workers.len())
            .min_by_key(|&index| self.workers[index].calls)
            .expect("at least one media worker");
        self.workers[worker].calls += 1;
        self.calls.insert(call, worker);
        worker
    }

    fn send(&self, worker: usize, command: WorkerCommand) {
        let handle = &self.workers[worker];
        if handle.commands.try_send(command).is_err() {
            tracing::error!(worker, "media worker does not take commands");
            return;
        }
        if let Err(error) = handle.wake.write(1) {
            tracing::error!(worker, %error, "media worker cannot be woken");
        }
    }

    /// Close every call and wait for the workers to stop and the recording writer to
    /// complete every file.
    pub fn shut_down(mut self) {
        for (call, worker) in std::mem::take(&mut self.calls) {
            self.send(worker, WorkerCommand::Media(MediaCommand::Close { call }));
        }
        for worker in std::mem::take(&mut self.workers) {
            // A worker stops when its command channel is closed and it is woken.
            drop(worker.commands);
            let _ = worker.wake.write(1);
            let _ = worker.thread.join();
        }
        let (replacement, _) = std::sync::mpsc::sync_channel(1);
        drop(std::mem::replace(&mut self.recordings, replacement));
        // Workers held senders too; they finished their calls' files before stopping.
        if let Some(thread) = self.recording_thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for MediaDriver {
    /// Without [`MediaDriver::shut_down`], the workers still stop (their calls' recordings
    /// are completed by the writer thread as they go), but nobody waits for them.
    fn drop(&mut self) {
        for worker in std::mem::take(&mut self.workers) {
            drop(worker.commands);
            let _ = worker.wake.write(1);
        }
    }
}

fn prepare(socket: UdpSocket) -> io::Result<UdpSocket> {
    socket.set_nonblocking(true)?;
    nix::sys::socket::setsockopt(
        &socket,
        nix::sys::socket::sockopt::ReceiveTimestampns,
        &true,
    )
    .map_err(io::Error::from)?;
    Ok(socket)
}

/// Room for the control message of [`receive_stamped`]: allocated once per worker, not per
/// datagram.
fn stamp_space() -> Vec<u8> {
    nix::cmsg_space!(nix::sys::time::TimeSpec)
}

/// Read one datagram and the kernel's arrival stamp (ns since the Unix epoch); `space` comes
/// from [`stamp_space`].
fn receive_stamped(
    socket: &UdpSocket,
    buffer: &mut [u8],
    space: &mut [u8],
) -> io::Result<(usize, SocketAddr, Option<i128>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrStorage};
    let mut iov = [io::IoSliceMut::new(buffer)];
    let message = recvmsg::<SockaddrStorage>(
        socket.as_raw_fd(),
        &mut iov,
        Some(space),
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
    messages: Receiver<RecordingMessage>,
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

/// One call on a worker.
struct CallSlot {
    call: u64,
    media: CallMedia,
    sockets: [Option<UdpSocket>; 2],
    recording: Option<PathBuf>,
    /// The time of the call's live entry in the worker's timer queue; entries at other times
    /// are stale (the call's deadline moved) and skipped.
    timer_ms: Option<u64>,
}

/// What a worker's calls hand over to the switch and the recording writer, kept while their
/// queues are full, and the counts not yet added to [`RelayStats`].
#[derive(Default)]
struct Outbox {
    events: VecDeque<CallEvent>,
    recordings: VecDeque<RecordingMessage>,
    counts: PacketCounts,
}

impl Outbox {
    fn event(&mut self, event: CallEvent) {
        if self.events.len() >= EVENT_BACKLOG {
            tracing::error!(
                call = event.call,
                "switch does not read media events: one lost"
            );
            return;
        }
        self.events.push_back(event);
    }

    /// Hand over what the queues take now; whether something is left for later.
    fn hand_over(
        &mut self,
        events: &mpsc::Sender<CallEvent>,
        recordings: &SyncSender<RecordingMessage>,
    ) -> bool {
        while let Some(event) = self.events.pop_front() {
            match events.try_send(event) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(event)) => {
                    self.events.push_front(event);
                    break;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => self.events.clear(),
            }
        }
        while let Some(message) = self.recordings.pop_front() {
            match recordings.try_send(message) {
                Ok(()) => {}
                Err(TrySendError::Full(message)) => {
                    self.recordings.push_front(message);
                    break;
                }
                Err(TrySendError::Disconnected(_)) => self.recordings.clear(),
            }
        }
        !self.events.is_empty() || !self.recordings.is_empty()
    }
}

/// A worker's timers: one live entry per call at most (see [`CallSlot::timer_ms`]).
struct Timers {
    queue: TimerQueue<u64>,
    /// Nothing is scheduled before this time: just after the last pass over the due
    /// entries (never before the last entry taken out, as the queue requires).
    now_ms: u64,
}

impl Timers {
    /// Make sure the call's queue entry is no later than its next deadline.
    fn schedule(&mut self, call: &mut CallSlot) {
        let Some(due_ms) = call.media.poll_timeout() else {
            return;
        };
        if call.timer_ms.is_some_and(|queued_ms| queued_ms <= due_ms) {
            // The entry comes first; when it finds the call not due, it schedules again.
            return;
        }
        let at_ms = due_ms.max(self.now_ms);
        self.queue.schedule(at_ms, call.call);
        call.timer_ms = Some(at_ms);
    }
}

impl CallSlot {
    /// Send the packets the call generated and collect its events and recording chunks.
    fn drain(&mut self, buffer: &mut [u8], outbox: &mut Outbox, timers: &mut Timers) {
        while let Some(transmit) = self.media.poll_transmit(buffer) {
            if let Some(socket) = &self.sockets[transmit.side.index()] {
                match socket.send_to(&buffer[..transmit.length], transmit.destination) {
                    Ok(_) => outbox.counts.generated += 1,
                    Err(_) => outbox.counts.send_errors += 1,
                }
            }
        }
        while let Some(event) = self.media.poll_event() {
            outbox.event(CallEvent {
                call: self.call,
                event: DriverEvent::Media(event),
            });
        }
        while let Some(samples) = self.media.poll_recording() {
            outbox.recordings.push_back(RecordingMessage::Append {
                call: self.call,
                samples,
            });
        }
        timers.schedule(self);
    }

    fn command(&mut self, now_ms: u64, command: MediaCommand, outbox: &mut Outbox) {
        // The switch's times are on the worker's clock (one start instant), and past by the
        // time a command arrives.
        let switch_time = |at_ms: u64| at_ms.min(now_ms);
        match command {
            MediaCommand::SetRemote {
                side, negotiated, ..
            } => self.media.set_remote(now_ms, side, negotiated),
            MediaCommand::Hears { side, hears, .. } => self.media.set_hears(now_ms, side, hears),
            MediaCommand::Announce { side, clips, .. } => self.media.announce(now_ms, side, clips),
            MediaCommand::Connect { .. } => self.media.connect(),
            MediaCommand::Secure { on, at_ms, .. } => self.media.set_secure(switch_time(at_ms), on),
            MediaCommand::StartRecording { path, at_ms, .. } => {
                if self.recording.is_none() {
                    self.media.start_recording(switch_time(at_ms));
                    outbox.recordings.push_back(RecordingMessage::Open {
                        call: self.call,
                        path: path.clone(),
                    });
                    self.recording = Some(path);
                }
            }
            MediaCommand::StopRecording { at_ms, .. } => {
                self.stop_recording(switch_time(at_ms), outbox)
            }
            MediaCommand::ClearLeg { side, .. } => self.media.clear_leg(side),
            MediaCommand::Open { .. } | MediaCommand::Close { .. } => {}
        }
    }

    /// The recording ends at `at_ms`.
    fn stop_recording(&mut self, at_ms: u64, outbox: &mut Outbox) {
        if self.recording.take().is_some() {
            if let Some(summary) = self.media.stop_recording(at_ms) {
                while let Some(samples) = self.media.poll_recording() {
                    outbox.recordings.push_back(RecordingMessage::Append {
                        call: self.call,
                        samples,
                    });
                }
                outbox.recordings.push_back(RecordingMessage::Finish {
                    call: self.call,
                    summary,
                });
            }
        }
    }
}

fn leg_token(slot: usize, side: Side) -> u64 {
    (slot as u64) << 1 | side.index() as u64
}

fn token_leg(token: u64) -> (usize, Side) {
    let side = if token & 1 == 0 {
        Side::Caller
    } else {
        Side::Agent
    };
    ((token >> 1) as usize, side)
}

/// One media worker thread: see the module documentation.
struct MediaWorker {
    start: std::time::Instant,
    media_timeout_ms: u64,
    epoll: Epoll,
    wake: Arc<EventFd>,
    commands: Receiver<WorkerCommand>,
    /// Calls by slot (a slot is reused after its call closed); a leg's epoll token names it.
    slots: Vec<Option<CallSlot>>,
    free_slots: Vec<usize>,
    slot_of: HashMap<u64, usize>,
    timers: Timers,
    outbox: Outbox,
    events: mpsc::Sender<CallEvent>,
    recordings: SyncSender<RecordingMessage>,
    stats: Arc<RelayStats>,
    progress: Arc<SwitchProgress>,
    latency_us: hdrhistogram::Histogram<u64>,
    next_merge_ms: u64,
    stamp_space: Vec<u8>,
}

impl MediaWorker {
    fn new(
        start: std::time::Instant,
        media_timeout_ms: u64,
        commands: Receiver<WorkerCommand>,
        events: mpsc::Sender<CallEvent>,
        recordings: SyncSender<RecordingMessage>,
        stats: Arc<RelayStats>,
        progress: Arc<SwitchProgress>,
    ) -> io::Result<MediaWorker> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        let wake = EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)?;
        epoll.add(
            wake.as_fd(),
            EpollEvent::new(EpollFlags::EPOLLIN, WAKE_TOKEN),
        )?;
        Ok(MediaWorker {
            start,
            media_timeout_ms,
            epoll,
            wake: Arc::new(wake),
            commands,
            slots: Vec::new(),
            free_slots: Vec::new(),
            slot_of: HashMap::new(),
            timers: Timers {
                queue: TimerQueue::new(),
                now_ms: 0,
            },
            outbox: Outbox::default(),
            events,
            recordings,
            stats,
            progress,
            latency_us: latency_histogram(),
            next_merge_ms: 0,
            stamp_space: stamp_space(),
        })
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn run(mut self) {
        let mut buffer = vec![0u8; MAX_PACKET_BYTES + 1];
        let mut ready = vec![EpollEvent::empty(); READY_BATCH];
        loop {
            let now_ms = self.now_ms();
            // Settled before taking the commands: every command the switch sent before it
            // published this is taken now, ahead of the recording chunks the timers write.
            let settled_ms = self.progress.settled_ms(now_ms);
            if !self.take_commands(&mut buffer) {
                break;
            }
            self.run_timers(now_ms, settled_ms, &mut buffer);
            let waiting = self.outbox.hand_over(&self.events, &self.recordings);
            self.stats.add(&mut self.outbox.counts);
            if now_ms >= self.next_merge_ms {
                self.stats.merge(&mut self.latency_us);
                self.next_merge_ms = now_ms + MERGE_MS;
            }
            let mut wait_ms = self
                .timers
                .queue
                .peek_time_ms()
                .map(|at_ms| at_ms.saturating_sub(now_ms));
            if waiting {
                wait_ms = Some(wait_ms.map_or(RETRY_MS, |wait_ms| wait_ms.min(RETRY_MS)));
            }
            if !self.latency_us.is_empty() {
                let merge_ms = self.next_merge_ms.saturating_sub(now_ms);
                wait_ms = Some(wait_ms.map_or(merge_ms, |wait_ms| wait_ms.min(merge_ms)));
            }
            let timeout = match wait_ms {
                None => EpollTimeout::NONE,
                Some(wait_ms) => EpollTimeout::try_from(wait_ms).unwrap_or(EpollTimeout::MAX),
            };
            let count = match self.epoll.wait(&mut ready, timeout) {
                Ok(count) => count,
                Err(nix::errno::Errno::EINTR) => 0,
                Err(error) => {
                    tracing::error!(%error, "epoll_wait failed");
                    0
                }
            };
            if count == 0 {
                // Idle: what was measured goes to the shared figures now.
                self.stats.merge(&mut self.latency_us);
            }
            let mut woken = false;
            for event in &ready[..count] {
                match event.data() {
                    WAKE_TOKEN => woken = true,
                    token => self.relay(token_leg(token), &mut buffer),
                }
            }
            if woken {
                // Reset the eventfd before taking the commands, so that a command sent
                // after the last one taken wakes the next wait.
                let _ = self.wake.read();
                if !self.take_commands(&mut buffer) {
                    break;
                }
            }
        }
        self.stop(&mut buffer);
    }

    /// One datagram from a ready leg, relayed to the other leg when it is to be.
    fn relay(&mut self, (slot, side): (usize, Side), buffer: &mut [u8]) {
        let Some(Some(call)) = self.slots.get_mut(slot) else {
            return;
        };
        let Some(socket) = &call.sockets[side.index()] else {
            return;
        };
        let (length, source, stamp) = match receive_stamped(socket, buffer, &mut self.stamp_space) {
            Ok(received) => received,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
            Err(error) => {
                // ICMP port unreachable from a peer that is gone, and the like.
                tracing::debug!(call = call.call, %error, "RTP receive failed");
                return;
            }
        };
        let counts = &mut self.outbox.counts;
        counts.received += 1;
        if length > MAX_PACKET_BYTES {
            counts.dropped += 1;
            return;
        }
        let now_ms = self.start.elapsed().as_millis() as u64;
        match call
            .media
            .handle_packet(now_ms, side, source, &mut buffer[..length])
        {
            None => counts.dropped += 1,
            Some(transmit) => {
                if let Some(out) = &call.sockets[transmit.side.index()] {
                    match out.send_to(&buffer[..transmit.length], transmit.destination) {
                        Ok(_) => {
                            counts.relayed += 1;
                            if let Some(stamp) = stamp {
                                let added_us = ((unix_now_ns() - stamp) / 1_000).max(1) as u64;
                                let _ = self.latency_us.record(added_us);
                            }
                        }
                        Err(_) => counts.send_errors += 1,
                    }
                }
            }
        }
        call.drain(buffer, &mut self.outbox, &mut self.timers);
    }

    /// Calls whose deadline has come.
    fn run_timers(&mut self, now_ms: u64, settled_ms: u64, buffer: &mut [u8]) {
        while self
            .timers
            .queue
            .peek_time_ms()
            .is_some_and(|at_ms| at_ms <= now_ms)
        {
            let Some((at_ms, call)) = self.timers.queue.pop() else {
                break;
            };
            // What this pass schedules comes after `now_ms`: a deadline that stayed in the
            // past cannot keep the worker in this loop.
            self.timers.now_ms = now_ms + 1;
            let Some(Some(slot)) = self
                .slot_of
                .get(&call)
                .map(|&slot| self.slots[slot].as_mut())
            else {
                continue; // closed
            };
            if slot.timer_ms != Some(at_ms) {
                continue; // stale
            }
            slot.timer_ms = None;
            slot.media.settle_commands(settled_ms);
            if slot
                .media
                .poll_timeout()
                .is_some_and(|due_ms| due_ms <= now_ms)
            {
                slot.media.handle_timeout(now_ms);
            }
            slot.drain(buffer, &mut self.outbox, &mut self.timers);
        }
    }

    /// Carry out the commands waiting; false once the driver is gone.
    fn take_commands(&mut self, buffer: &mut [u8]) -> bool {
        loop {
            match self.commands.try_recv() {
                Ok(command) => self.command(command, buffer),
                Err(TryRecvError::Empty) => return true,
                Err(TryRecvError::Disconnected) => return false,
            }
        }
    }

    fn command(&mut self, command: WorkerCommand, buffer: &mut [u8]) {
        let now_ms = self.now_ms();
        match command {
            WorkerCommand::Open { call, side, socket } => self.open(call, side, socket),
            WorkerCommand::Media(MediaCommand::Close { call }) => self.close(call, buffer),
            WorkerCommand::Media(command) => {
                let Some(&slot) = self.slot_of.get(&command.call()) else {
                    return;
                };
                if let Some(call) = self.slots[slot].as_mut() {
                    call.command(now_ms, command, &mut self.outbox);
                    call.drain(buffer, &mut self.outbox, &mut self.timers);
                }
            }
        }
    }

    fn open(&mut self, call: u64, side: Side, socket: UdpSocket) {
        let slot = match self.slot_of.get(&call) {
            Some(&slot) => slot,
            None => {
                let slot = self.free_slots.pop().unwrap_or_else(|| {
                    self.slots.push(None);
                    self.slots.len() - 1
                });
                self.slots[slot] = Some(CallSlot {
                    call,
                    media: CallMedia::new(call, self.media_timeout_ms),
                    sockets: [None, None],
                    recording: None,
                    timer_ms: None,
                });
                self.slot_of.insert(call, slot);
                slot
            }
        };
        let Some(entry) = self.slots[slot].as_mut() else {
            return;
        };
        if let Some(previous) = entry.sockets[side.index()].take() {
            let _ = self.epoll.delete(previous.as_fd());
        }
        let interest = EpollEvent::new(EpollFlags::EPOLLIN, leg_token(slot, side));
        match self.epoll.add(socket.as_fd(), interest) {
            Ok(()) => entry.sockets[side.index()] = Some(socket),
            Err(error) => self.outbox.event(CallEvent {
                call,
                event: DriverEvent::OpenFailed {
                    side,
                    error: format!("cannot watch the RTP socket: {error}"),
                },
            }),
        }
    }

    fn close(&mut self, call: u64, buffer: &mut [u8]) {
        let Some(slot) = self.slot_of.remove(&call) else {
            return;
        };
        let Some(mut entry) = self.slots[slot].take() else {
            return;
        };
        self.free_slots.push(slot);
        let now_ms = self.now_ms();
        entry.stop_recording(now_ms, &mut self.outbox);
        entry.drain(buffer, &mut self.outbox, &mut self.timers);
        for socket in entry.sockets.iter().flatten() {
            let _ = self.epoll.delete(socket.as_fd());
        }
        self.stats.merge(&mut self.latency_us);
    }

    /// The driver is gone: every call closes, and the recording writer gets every chunk.
    fn stop(&mut self, buffer: &mut [u8]) {
        let calls: Vec<u64> = self.slot_of.keys().copied().collect();
        for call in calls {
            self.close(call, buffer);
        }
        self.outbox.hand_over(&self.events, &self.recordings);
        // The writer may be full: the last chunks wait for it (the calls are over).
        for message in self.outbox.recordings.drain(..) {
            let _ = self.recordings.send(message);
        }
        self.stats.add(&mut self.outbox.counts);
        self.stats.merge(&mut self.latency_us);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switchs_progress_settles_its_last_wait_while_busy_and_the_workers_clock_while_waiting() {
        let progress = SwitchProgress::default();
        // A switch loop that never says: settled up to the worker's clock.
        assert_eq!(progress.settled_ms(500), 499);
        progress.waiting(1_000, 10);
        // Waiting: anything it makes later reads a clock at or after the worker's.
        assert_eq!(progress.settled_ms(1_004), 1_000);
        assert_eq!(progress.settled_ms(1_300), 1_290);
        // Busy with an input from 1,300 ms: a command of that step may be placed at any time
        // since its last wait, so only that is settled, however long the step takes.
        progress.busy();
        assert_eq!(progress.settled_ms(1_300), 1_000);
        assert_eq!(progress.settled_ms(9_000), 1_000);
        progress.waiting(9_000, 10);
        assert_eq!(progress.settled_ms(9_000), 9_000);
    }
}

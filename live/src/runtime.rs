//! The thin tokio layer: one task owns the [`Switch`] (and so the engine) and moves bytes
//! between it and a UDP socket; other tasks talk to it through a bounded channel of
//! [`Request`]s, each with a oneshot for the reply. No state is shared between tasks.

use std::io;
use std::net::SocketAddr;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::api::{Command, CommandError, Reply};
use crate::cdr::CdrWriter;
use crate::media::{CallEvent, MediaDriver};
use crate::sip::message::MAX_MESSAGE_BYTES;
use crate::streams::{StreamEvent, Streams};
use crate::switch::{CallerEvent, Switch};

/// Commands waiting for the switch task at most; the HTTP API answers 503 beyond.
pub const COMMAND_QUEUE: usize = 256;

/// A command for the switch task and where to send its answer.
pub struct Request {
    pub command: Command,
    pub reply: oneshot::Sender<Result<Reply, CommandError>>,
}

/// A cloneable way for other tasks to ask the switch task something.
#[derive(Clone)]
pub struct SwitchHandle {
    sender: mpsc::Sender<Request>,
}

impl SwitchHandle {
    pub fn channel() -> (SwitchHandle, mpsc::Receiver<Request>) {
        let (sender, receiver) = mpsc::channel(COMMAND_QUEUE);
        (SwitchHandle { sender }, receiver)
    }

    pub async fn ask(&self, command: Command) -> Result<Reply, CommandError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .try_send(Request { command, reply })
            .map_err(|_| CommandError::Unavailable)?;
        answer.await.map_err(|_| CommandError::Unavailable)?
    }

    /// [`SwitchHandle::ask`], waiting for room in the queue instead of refusing when it is
    /// full: for a chat socket, whose task then reads no more frames until the switch took
    /// this one, so that the client is slowed by TCP instead of losing a message (or the
    /// close of its chat) in a burst. The queue stays bounded; only a stopped switch refuses.
    pub async fn ask_in_turn(&self, command: Command) -> Result<Reply, CommandError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Request { command, reply })
            .await
            .map_err(|_| CommandError::Unavailable)?;
        answer.await.map_err(|_| CommandError::Unavailable)?
    }
}

/// What the loop needs from a datagram socket: tokio's, or a simulated one in tests.
#[allow(async_fn_in_trait)] // used with concrete types only, never as `dyn`
pub trait DatagramSocket {
    async fn receive_from(&self, buffer: &mut [u8]) -> io::Result<(usize, SocketAddr)>;
    async fn send_to_address(&self, bytes: &[u8], destination: SocketAddr) -> io::Result<usize>;
}

impl DatagramSocket for tokio::net::UdpSocket {
    async fn receive_from(&self, buffer: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.recv_from(buffer).await
    }
    async fn send_to_address(&self, bytes: &[u8], destination: SocketAddr) -> io::Result<usize> {
        self.send_to(bytes, destination).await
    }
}

/// The UDP receive buffer asked for: at 2,000 calls/s a burst of messages overflows Linux's
/// default 208 KiB and the kernel drops datagrams, which callers see as retransmissions
/// (500 ms more setup). The kernel caps the request at `net.core.rmem_max`.
pub const UDP_RECEIVE_BUFFER_BYTES: usize = 4 * 1024 * 1024;

/// Ask for a receive buffer of `bytes` on `socket`; returns what the kernel granted.
pub fn enlarge_receive_buffer(socket: &tokio::net::UdpSocket, bytes: usize) -> io::Result<usize> {
    use nix::sys::socket::{getsockopt, setsockopt, sockopt::RcvBuf};
    setsockopt(socket, RcvBuf, &bytes).map_err(io::Error::from)?;
    getsockopt(socket, RcvBuf).map_err(io::Error::from)
}

/// Drive the switch until `shutdown` turns true. Every CDR row goes to `cdr_writer` (when
/// given) or is dropped (tests that look only at SIP). Returns the switch for inspection.
pub async fn run_switch<S: DatagramSocket>(
    socket: &S,
    switch: Switch,
    requests: mpsc::Receiver<Request>,
    shutdown: watch::Receiver<bool>,
    cdr_writer: Option<&mut CdrWriter>,
    start: Instant,
) -> Switch {
    run_switch_with_media(
        socket, switch, requests, shutdown, cdr_writer, start, None, None,
    )
    .await
}

/// [`run_switch`] with anchored media: the switch's media commands go to `media`'s driver and
/// its events come back to the switch; and with TCP and TLS connections when `streams` is
/// given (messages for stream peers go to their connection, the rest to the UDP socket).
#[allow(clippy::too_many_arguments)] // each is one thing the loop drives
pub async fn run_switch_with_media<S: DatagramSocket>(
    socket: &S,
    switch: Switch,
    requests: mpsc::Receiver<Request>,
    shutdown: watch::Receiver<bool>,
    cdr_writer: Option<&mut CdrWriter>,
    start: Instant,
    media: Option<(&mut MediaDriver, &mut mpsc::Receiver<CallEvent>)>,
    streams: Option<&mut Streams>,
) -> Switch {
    let options = LoopOptions::default();
    run_switch_observed(
        socket, switch, requests, shutdown, cdr_writer, start, media, streams, options,
    )
    .await
}

/// Told each engine event with the center that made it.
pub type EventObserver<'o> = dyn FnMut(&switchboard_engine::Center, CallerEvent) + 'o;

/// How the switch's loop is clocked and watched, beyond [`run_switch_with_media`].
pub struct LoopOptions<'o> {
    /// Switch milliseconds per wall-clock millisecond: 1 is real time; a replay may run the
    /// live clock faster or slower (`docs/agreement.md`). Not with anchored media, whose
    /// packets keep real time.
    pub clock_rate: f64,
    /// Reads the clock on a grid of this many milliseconds (0: none): the switch's time is
    /// the last grid point passed, and timers fire on the grid point at or after their time.
    /// A replay on a grid (`docs/agreement.md`) delivers each input half a grid step after its
    /// time, so that noise below half a step changes no time the engine sees.
    pub quantum_ms: u64,
    /// Told every engine event the switch logged (`Switch::with_event_log`), with the center
    /// to name queues and agents by.
    pub on_event: Option<&'o mut EventObserver<'o>>,
    /// Told every record the switch keeps for the audit log (`Switch::with_audit_log`).
    pub on_audit: Option<&'o mut AuditObserver<'o>>,
    /// Told every frame the switch has for a chat socket (`ChatSockets::deliver` of
    /// `crate::chat`); without, they are dropped.
    pub on_chat: Option<&'o mut ChatObserver<'o>>,
    /// Told every callback request made or ended, for etcd (`Switch::with_callback_replication`).
    pub on_callback: Option<&'o mut CallbackObserver<'o>>,
}

/// Told each change of a replicated callback request.
pub type CallbackObserver<'o> = dyn FnMut(crate::switch::CallbackChange) + 'o;

/// Told each frame for a chat socket.
pub type ChatObserver<'o> = dyn FnMut(crate::switch::ChatFrame) + 'o;

/// Told each record for the audit log.
pub type AuditObserver<'o> = dyn FnMut(switchboard_compliance::audit::Entry) + 'o;

impl Default for LoopOptions<'_> {
    fn default() -> Self {
        LoopOptions {
            clock_rate: 1.0,
            quantum_ms: 0,
            on_event: None,
            on_audit: None,
            on_chat: None,
            on_callback: None,
        }
    }
}

/// [`run_switch_with_media`] with a clock rate, a grid and an observer of the engine's events.
#[allow(clippy::too_many_arguments)] // each is one thing the loop drives
pub async fn run_switch_observed<S: DatagramSocket>(
    socket: &S,
    mut switch: Switch,
    mut requests: mpsc::Receiver<Request>,
    mut shutdown: watch::Receiver<bool>,
    mut cdr_writer: Option<&mut CdrWriter>,
    start: Instant,
    mut media: Option<(&mut MediaDriver, &mut mpsc::Receiver<CallEvent>)>,
    mut streams: Option<&mut Streams>,
    mut options: LoopOptions<'_>,
) -> Switch {
    let rate = options.clock_rate;
    assert!(rate > 0.0 && rate.is_finite(), "a clock that moves forward");
    let real_time = rate == 1.0;
    let quantum_ms = options.quantum_ms.max(1);
    // Before `start` (an epoch set in the future) the clock reads 0.
    let now_ms = || {
        let elapsed_ms = if real_time {
            start.elapsed().as_millis() as u64
        } else {
            (start.elapsed().as_secs_f64() * 1_000.0 * rate) as u64
        };
        elapsed_ms / quantum_ms * quantum_ms
    };
    let wall = |at_ms: u64| {
        let at_ms = at_ms.next_multiple_of(quantum_ms);
        if real_time {
            start + std::time::Duration::from_millis(at_ms)
        } else {
            start + std::time::Duration::from_secs_f64(at_ms as f64 / 1_000.0 / rate)
        }
    };
    // The media workers hold recorded frames until the switch's commands over them are
    // settled: the loop says when it waits and when it takes an input (real time only: the
    // workers' clock is the real one).
    let progress = media
        .as_ref()
        .filter(|_| real_time)
        .map(|(driver, _)| driver.progress());
    // The clock for an input: the switch is busy from before it reads it.
    let input_ms = || {
        if let Some(progress) = &progress {
            progress.busy();
        }
        now_ms()
    };
    let mut buffer = vec![0u8; MAX_MESSAGE_BYTES];
    // When the loop woke for the input being handled: the busy time runs until its output
    // has been sent, and goes to the switch's histogram (`switchboard_event_loop_busy_seconds`).
    let mut woke_at: Option<std::time::Instant> = None;
    loop {
        if let Some((driver, _)) = media.as_mut() {
            while let Some(command) = switch.poll_media() {
                driver.apply(command);
            }
        }
        // Only input handlers make media commands, and every one made so far is sent.
        if let Some(progress) = &progress {
            progress.waiting(now_ms(), quantum_ms);
        }
        while let Some(transmit) = switch.poll_transmit() {
            if transmit.transport.is_reliable() {
                match streams.as_deref_mut() {
                    Some(streams) => streams.send(transmit),
                    None => {
                        tracing::debug!(destination = %transmit.destination, "no stream transport")
                    }
                }
                continue;
            }
            if let Err(error) = socket
                .send_to_address(&transmit.bytes, transmit.destination)
                .await
            {
                tracing::debug!(%error, destination = %transmit.destination, "send failed");
            }
        }
        // Open tickets before CDR rows: a ticket's last state is written before its end.
        keep_open_tickets(&mut switch, cdr_writer.as_deref_mut());
        while let Some(record) = switch.poll_cdr() {
            if let Some(writer) = cdr_writer.as_deref_mut() {
                writer.record(record);
            }
        }
        while let Some(frame) = switch.poll_chat() {
            if let Some(on_chat) = options.on_chat.as_mut() {
                on_chat(frame);
            }
        }
        if let Some(on_event) = options.on_event.as_mut() {
            while let Some(event) = switch.poll_event() {
                on_event(switch.center(), event);
            }
        }
        if let Some(on_audit) = options.on_audit.as_mut() {
            while let Some(entry) = switch.poll_audit() {
                on_audit(entry);
            }
        }
        if let Some(on_callback) = options.on_callback.as_mut() {
            while let Some(change) = switch.poll_callback_change() {
                on_callback(change);
            }
        }
        if let Some(woke_at) = woke_at.take() {
            switch.record_loop_busy(woke_at.elapsed().as_secs_f64());
        }
        if *shutdown.borrow() {
            break;
        }
        let deadline = switch.poll_timeout().map(wall);
        tokio::select! {
            biased;
            _ = shutdown.changed() => {}
            received = socket.receive_from(&mut buffer) => {
                woke_at = Some(std::time::Instant::now());
                match received {
                    Ok((length, source)) => {
                        switch.handle_datagram(input_ms(), source, &buffer[..length])
                    }
                    // ICMP port unreachable and the like: the peer is gone, nothing to read.
                    Err(error) => tracing::debug!(%error, "receive failed"),
                }
            }
            Some(request) = requests.recv() => {
                woke_at = Some(std::time::Instant::now());
                let answer = switch.handle_command(input_ms(), request.command);
                // A ticket the command created or changed is on disk before the answer says
                // so (a 201 survives a `kill -9`); the switch goes on meanwhile.
                let tickets_changed = keep_open_tickets(&mut switch, cdr_writer.as_deref_mut());
                match cdr_writer.as_deref_mut() {
                    Some(writer) if tickets_changed => {
                        let reply = request.reply;
                        writer.after_commit(move || {
                            let _ = reply.send(answer);
                        });
                    }
                    _ => {
                        let _ = request.reply.send(answer);
                    }
                }
            }
            Some(event) = media_event(&mut media) => {
                woke_at = Some(std::time::Instant::now());
                switch.handle_media_event(input_ms(), event)
            }
            Some(event) = stream_event(&mut streams) => {
                woke_at = Some(std::time::Instant::now());
                if let Some(streams) = streams.as_deref_mut() {
                    streams.note(&event);
                }
                match event {
                    StreamEvent::Message { peer, transport, bytes } => {
                        switch.handle_message(input_ms(), peer, transport, &bytes)
                    }
                    StreamEvent::Closed { peer } => switch.connection_closed(peer),
                    StreamEvent::Opened { .. } => {}
                }
            }
            _ = sleep_until(deadline) => {
                woke_at = Some(std::time::Instant::now());
                switch.handle_timeout(input_ms())
            }
        }
    }
    switch
}

/// Hand every open ticket whose state changed to the writer (or drop them without one);
/// true when there was one.
pub fn keep_open_tickets(switch: &mut Switch, mut writer: Option<&mut CdrWriter>) -> bool {
    let mut any = false;
    while let Some(ticket) = switch.poll_open_ticket() {
        any = true;
        if let Some(writer) = writer.as_deref_mut() {
            writer.keep_open_ticket(ticket);
        }
    }
    any
}

async fn media_event(
    media: &mut Option<(&mut MediaDriver, &mut mpsc::Receiver<CallEvent>)>,
) -> Option<CallEvent> {
    match media {
        Some((_, events)) => events.recv().await,
        None => std::future::pending().await,
    }
}

async fn stream_event(streams: &mut Option<&mut Streams>) -> Option<StreamEvent> {
    match streams {
        Some(streams) => streams.next_event().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

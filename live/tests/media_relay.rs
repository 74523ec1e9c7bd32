//! The media driver's workers on real sockets: two simulated phones on loopback send each
//! other tones through a call's anchored legs; each hears the other's tone (Goertzel), keys
//! come back as events, and every relayed packet's added latency is measured. Calls spread
//! over two workers play their prompts on their workers' timers and time out.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use switchboard_live::media::{CallEvent, DriverEvent, MediaCommand, MediaDriver, MediaSettings};
use switchboard_media::audio::tone_power_ratio;
use switchboard_media::dtmf::key_press_payloads;
use switchboard_media::rtp::{self, Rewrite};
use switchboard_media::sdp::{Direction, Negotiated};
use switchboard_media::{Audio, Codec, MediaEvent, Side};

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn negotiated(codec: Codec, remote: SocketAddr) -> Negotiated {
    Negotiated {
        codec,
        payload_type: codec.static_payload_type(),
        telephone_event: Some(101),
        remote,
        remote_direction: Direction::SendReceive,
    }
}

/// A phone: sends `tone` in 20 ms packets to `switch_port` and keeps what it receives.
async fn phone(
    socket: tokio::net::UdpSocket,
    to: SocketAddr,
    codec: Codec,
    tone: Audio,
    key: Option<char>,
) -> Vec<i16> {
    let mut heard = Vec::new();
    let mut buffer = [0u8; 1_500];
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    for (index, frame) in tone.samples().chunks(160).enumerate() {
        ticker.tick().await;
        let mut payload = [0u8; 160];
        codec.encode_into(frame, &mut payload);
        let fields = Rewrite {
            marker: index == 0,
            payload_type: codec.static_payload_type(),
            sequence: index as u16,
            timestamp: index as u32 * 160,
            ssrc: 99,
        };
        let length = rtp::build(&mut buffer, fields, &payload);
        socket.send_to(&buffer[..length], to).await.unwrap();
        if index == 10 {
            if let Some(key) = key {
                for (offset, (marker, event)) in key_press_payloads(key, 60, 20)
                    .unwrap()
                    .into_iter()
                    .enumerate()
                {
                    let fields = Rewrite {
                        marker,
                        payload_type: 101,
                        sequence: 1_000 + offset as u16,
                        timestamp: 1_600,
                        ssrc: 99,
                    };
                    let length = rtp::build(&mut buffer, fields, &event);
                    socket.send_to(&buffer[..length], to).await.unwrap();
                }
            }
        }
        while let Ok((length, _)) = socket.try_recv_from(&mut buffer) {
            let header = rtp::parse(&buffer[..length]).unwrap();
            if header.payload_type == codec.static_payload_type() {
                let mut samples = [0i16; 160];
                let count = codec.decode_into(
                    &buffer[header.payload_offset..header.payload_end],
                    &mut samples,
                );
                heard.extend_from_slice(&samples[..count]);
            }
        }
    }
    heard
}

/// Bind the leg on `port` and give it its peer's negotiated media.
fn open_leg(driver: &mut MediaDriver, call: u64, side: Side, port: u16, remote: Negotiated) {
    driver.apply(MediaCommand::Open { call, side, port });
    driver.apply(MediaCommand::SetRemote {
        call,
        side,
        negotiated: remote,
    });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Two media workers on loopback, as on the 2-core machine the figures come from.
fn settings(media_timeout_ms: u64) -> MediaSettings {
    MediaSettings {
        address: "127.0.0.1".parse().unwrap(),
        media_timeout_ms,
        recordings: Default::default(),
        workers: 2,
        realtime_priority: 0,
    }
}

#[test]
fn two_phones_hear_each_other_through_the_anchored_call() {
    runtime().block_on(async {
        let start = tokio::time::Instant::now();
        let (mut driver, mut events) = MediaDriver::new(settings(0), start);
        let caller = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let agent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (caller_port, agent_port) = (free_port(), free_port());
        let call = 7;
        let caller_remote = negotiated(Codec::Pcmu, caller.local_addr().unwrap());
        open_leg(&mut driver, call, Side::Caller, caller_port, caller_remote);
        let agent_remote = negotiated(Codec::Pcma, agent.local_addr().unwrap());
        open_leg(&mut driver, call, Side::Agent, agent_port, agent_remote);
        driver.apply(MediaCommand::Connect { call });
        let caller_leg: SocketAddr = format!("127.0.0.1:{caller_port}").parse().unwrap();
        let agent_leg: SocketAddr = format!("127.0.0.1:{agent_port}").parse().unwrap();
        let (caller_heard, agent_heard) = tokio::join!(
            phone(
                caller,
                caller_leg,
                Codec::Pcmu,
                Audio::tone(600.0, 1_000, 8_000),
                Some('5')
            ),
            phone(
                agent,
                agent_leg,
                Codec::Pcma,
                Audio::tone(1_400.0, 1_000, 8_000),
                None
            ),
        );
        assert!(
            caller_heard.len() >= 6_000,
            "the caller heard {} samples",
            caller_heard.len()
        );
        assert!(
            tone_power_ratio(&caller_heard[800..], 1_400.0) > 0.8,
            "the caller hears the agent's tone"
        );
        assert!(tone_power_ratio(&caller_heard[800..], 600.0) < 0.05);
        assert!(
            tone_power_ratio(&agent_heard[800..], 600.0) > 0.8,
            "the agent hears the caller's tone"
        );
        let event = tokio::time::timeout(Duration::from_secs(2), events.recv())
            .await
            .unwrap();
        assert_eq!(
            event,
            Some(CallEvent {
                call,
                event: DriverEvent::Media(MediaEvent::Key {
                    side: Side::Caller,
                    key: '5'
                })
            })
        );
        let stats = driver.stats();
        driver.apply(MediaCommand::Close { call });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (count, p50, p99, _, _) = stats.latency_us();
        assert!(count >= 90, "relayed packets measured: {count}");
        assert!(p50 > 0 && p99 < 1_000_000, "p50 {p50} µs, p99 {p99} µs");
        driver.shut_down();
    });
}

/// Several calls spread over two media workers, each timed by its worker's timer queue: every
/// caller hears its own prompt (a tone of its own, 20 ms packets in real time), the prompt's
/// end comes back as an event, and a leg that never sends is reported by its media timeout.
#[test]
fn calls_on_several_workers_hear_their_prompts_and_time_out() {
    runtime().block_on(async {
        let start = tokio::time::Instant::now();
        let (mut driver, mut events) = MediaDriver::new(settings(1_500), start);
        let tones_hz = [500.0, 700.0, 900.0, 1_100.0, 1_300.0, 1_500.0];
        let mut phones = Vec::new();
        for (index, tone_hz) in tones_hz.iter().enumerate() {
            let call = 100 + index as u64;
            let phone = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let remote = negotiated(Codec::Pcmu, phone.local_addr().unwrap());
            open_leg(&mut driver, call, Side::Caller, free_port(), remote);
            driver.apply(MediaCommand::Hears {
                call,
                side: Side::Caller,
                hears: switchboard_media::Hears::Player(switchboard_media::Player::once(vec![
                    Audio::tone(*tone_hz, 600, 8_000),
                ])),
            });
            phones.push((call, *tone_hz, phone));
        }
        assert_eq!(driver.calls(), tones_hz.len());
        let mut listeners = Vec::new();
        for (call, tone_hz, phone) in phones {
            listeners.push(tokio::spawn(async move {
                let mut heard = Vec::new();
                let mut buffer = [0u8; 1_500];
                // 600 ms of prompt: 30 packets of 160 samples.
                let listening = tokio::time::timeout(Duration::from_secs(3), async {
                    while heard.len() < 30 * 160 {
                        let (length, _) = phone.recv_from(&mut buffer).await.unwrap();
                        let header = rtp::parse(&buffer[..length]).unwrap();
                        let mut samples = [0i16; 160];
                        let count = Codec::Pcmu.decode_into(
                            &buffer[header.payload_offset..header.payload_end],
                            &mut samples,
                        );
                        heard.extend_from_slice(&samples[..count]);
                    }
                });
                let _ = listening.await;
                (call, tone_hz, heard)
            }));
        }
        for listener in listeners {
            let (call, tone_hz, heard) = listener.await.unwrap();
            assert_eq!(heard.len(), 30 * 160, "call {call} heard its whole prompt");
            assert!(
                tone_power_ratio(&heard, tone_hz) > 0.8,
                "call {call} hears its own {tone_hz} Hz prompt"
            );
        }
        let mut finished = std::collections::BTreeSet::new();
        let mut timed_out = std::collections::BTreeSet::new();
        while finished.len() < tones_hz.len() || timed_out.len() < tones_hz.len() {
            let event = tokio::time::timeout(Duration::from_secs(3), events.recv())
                .await
                .expect("every call's events come within the media timeout")
                .unwrap();
            match event.event {
                DriverEvent::Media(MediaEvent::PlaybackFinished { side: Side::Caller }) => {
                    finished.insert(event.call);
                }
                DriverEvent::Media(MediaEvent::MediaTimeout { side: Side::Caller }) => {
                    timed_out.insert(event.call);
                }
                other => panic!("unexpected event {other:?}"),
            }
        }
        assert!(
            start.elapsed() >= Duration::from_millis(1_500),
            "no media timeout before its time"
        );
        let stats = driver.stats();
        driver.shut_down();
        let generated = stats.generated.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(generated, 30 * tones_hz.len() as u64);
    });
}

/// `realtime_priority` puts every worker thread under `SCHED_FIFO` at that priority when the
/// process may (root with CAP_SYS_NICE, as in CI here), and the driver still relays when it
/// may not.
#[test]
fn workers_given_a_realtime_priority_run_under_sched_fifo_at_it() {
    let start = tokio::time::Instant::now();
    let driver = runtime().block_on(async {
        MediaDriver::new(
            MediaSettings {
                realtime_priority: 7,
                ..settings(0)
            },
            start,
        )
        .0
    });
    // The workers set their own policy as they start.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    // Being root is not enough: a container may drop CAP_SYS_NICE, or its control group may
    // have no real-time budget. Whether this process may is asked the same way the workers do.
    let privileged = std::thread::spawn(|| {
        use thread_priority::{
            RealtimeThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
        };
        thread_priority::set_thread_priority_and_policy(
            thread_priority::thread_native_id(),
            ThreadPriority::Crossplatform(ThreadPriorityValue::try_from(7u8).unwrap()),
            ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
        )
        .is_ok()
    })
    .join()
    .unwrap();
    // Other tests of this file run their own (normal) workers meanwhile: count ours by policy.
    // /proc's policy 1 is SCHED_FIFO, 0 the normal policy.
    let expected_fifo = if privileged { 2 } else { 0 };
    loop {
        let workers = media_worker_scheduling();
        let fifo = workers
            .iter()
            .filter(|(_, scheduling)| *scheduling == (7, 1))
            .count();
        if fifo == expected_fifo && workers.len() >= 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "workers {workers:?}: {expected_fifo} expected under SCHED_FIFO at 7"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    driver.shut_down();
}

/// Each `media-N` thread of this process with its (real-time priority, policy) from /proc.
fn media_worker_scheduling() -> Vec<(String, (u64, u64))> {
    let mut found = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // The name is between the first '(' and the last ')'; fields after it from 3 on.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = &stat[open + 1..close];
        if !name.starts_with("media-") {
            continue;
        }
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        // Fields 40 (rt_priority) and 41 (policy) of proc_pid_stat(5), counted from 1.
        let field = |number: usize| fields[number - 3].parse::<u64>().unwrap();
        found.push((name.to_string(), (field(40), field(41))));
    }
    found.sort();
    found
}

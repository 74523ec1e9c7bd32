//! Anchored media with baresip as the caller's and the agent's phones (Debian package
//! baresip-core): each phone sends a sine tone (its `ausine` source) and records what it hears
//! (its `sndfile` filter); the switch relays between them, so each recording must hold the other
//! phone's tone, measured with the Goertzel algorithm. A caller who waits hears the queue's
//! music. The switch records each call (stereo: caller left, agent right) with silence over
//! a secure IVR span. Every wait is bounded and every process is killed when its guard drops.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{cdrs, free_udp_port, recording_channels, Guard, Server};
use switchboard_media::audio::tone_power_ratio;
use switchboard_media::Audio;

const CENTER: &str = "tests/media/center.toml";

/// Fails (never skips) when baresip is missing.
fn require_baresip() {
    let found = Command::new("baresip")
        .arg("-h")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        found,
        "baresip is not installed: install the Debian package baresip-core \
         (apt-get update && apt-get install -y baresip-core); CI installs it in .ci/run"
    );
}

/// A baresip phone in a folder of its own: its config, account and recordings.
struct Phone {
    process: Guard,
    folder: tempfile::TempDir,
}

impl Phone {
    /// `account` is baresip's account line; `tone_hz` the sine it sends; `extra` arguments
    /// (`-e` commands, `-t` seconds to live).
    fn start(account: &str, tone_hz: u32, extra: &[&str]) -> Phone {
        Phone::start_with_config(account, tone_hz, extra, "")
    }

    /// [`Phone::start`] with more lines for baresip's config (modules and their settings).
    fn start_with_config(account: &str, tone_hz: u32, extra: &[&str], more_config: &str) -> Phone {
        require_baresip();
        let folder = tempfile::tempdir().unwrap();
        let port = free_udp_port();
        // The null ALSA device plays nothing; ausine only runs at 48 kHz stereo, which
        // baresip resamples to the codec's 8 kHz.
        let config = format!(
            "poll_method epoll\nsip_listen 127.0.0.1:{port}\nnet_interface 127.0.0.1\n\
             audio_player alsa,null\naudio_alert alsa,null\naudio_source ausine,{tone_hz}\n\
             ausrc_srate 48000\nauplay_srate 48000\nausrc_channels 2\n\
             module_path /usr/lib/baresip/modules\nmodule g711.so\nmodule ausine.so\n\
             module alsa.so\nmodule sndfile.so\nmodule account.so\nmodule menu.so\n\
             snd_path {}\n{more_config}",
            folder.path().display()
        );
        std::fs::write(folder.path().join("config"), config).unwrap();
        std::fs::write(folder.path().join("accounts"), format!("{account}\n")).unwrap();
        let log = std::fs::File::create(folder.path().join("baresip.log")).unwrap();
        let child = Command::new("baresip")
            .arg("-f")
            .arg(folder.path())
            .args(extra)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Phone {
            process: Guard(Some(child)),
            folder,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.folder.path().join("baresip.log")).unwrap_or_default()
    }

    /// What the phone heard: its `sndfile` recording of decoded audio (8 kHz mono).
    fn heard(&self) -> Vec<i16> {
        let recording = find_file(self.folder.path(), "-dec.wav")
            .unwrap_or_else(|| panic!("the phone recorded nothing:\n{}", self.log()));
        Audio::load_wav(&recording).unwrap().samples().to_vec()
    }
}

fn find_file(folder: &Path, suffix: &str) -> Option<PathBuf> {
    std::fs::read_dir(folder)
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.to_string_lossy().ends_with(suffix))
}

/// Wait until `agent` is registered, as the API reports it.
fn wait_registered(server: &Server, agent: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let (status, body) = server.read(&format!("/agents/{agent}"));
        if status == 200 && body.contains("\"registered\":true") {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{agent} did not register:\n{}", server.log());
}

/// The share of the signal's power at `frequency_hz` over the middle of a recording (the
/// first and last half second left out: the call is being set up or torn down there).
fn tone_share(samples: &[i16], frequency_hz: f64) -> f64 {
    assert!(
        samples.len() > 16_000,
        "recording too short: {} samples",
        samples.len()
    );
    let middle = &samples[4_000..samples.len() - 4_000];
    tone_power_ratio(middle, frequency_hz)
}

/// sales-team-1's phone (1400 Hz, answering at once) registered, then a caller (600 Hz) who
/// dials `entry` and hangs up after `talk_seconds`; `during` runs while the call goes on.
/// Returns once the caller has finished.
fn agent_and_caller(
    server: &Server,
    entry: &str,
    talk_seconds: u32,
    during: impl FnOnce(),
) -> (Phone, Phone) {
    let agent = Phone::start(
        &format!(
            "<sip:sales-team-1@{}>;regint=60;answermode=auto;audio_codecs=PCMU;auth_pass={}",
            server.sip_address(),
            common::AGENT_PASSWORD
        ),
        1_400,
        &["-t", "20"],
    );
    wait_registered(server, "sales-team-1");
    let mut caller = Phone::start(
        &format!(
            "<sip:customer@{}>;regint=0;audio_codecs=PCMU",
            server.sip_address()
        ),
        600,
        &[
            "-t",
            &talk_seconds.to_string(),
            "-e",
            &format!("/dial sip:{entry}@{}", server.sip_address()),
        ],
    );
    during();
    assert!(
        caller.process.wait(Duration::from_secs(15)).is_some(),
        "the caller did not finish"
    );
    (agent, caller)
}

#[test]
fn a_baresip_caller_and_agent_hear_each_other_through_the_switch() {
    let mut server = Server::start(CENTER);
    let (agent, caller) = agent_and_caller(&server, "sales", 5, || {});
    std::thread::sleep(Duration::from_millis(500));
    server.stop();
    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 1, "{rows:?}\n{}", server.log());
    assert_eq!(
        rows[0].outcome,
        "completed",
        "{rows:?}\n{}\n{}",
        server.log(),
        caller.log()
    );
    assert_eq!(rows[0].agent.as_deref(), Some("sales-team-1"));

    let caller_heard = caller.heard();
    let agent_heard = agent.heard();
    let (to_caller, wrong_to_caller) = (
        tone_share(&caller_heard, 1_400.0),
        tone_share(&caller_heard, 600.0),
    );
    let (to_agent, wrong_to_agent) = (
        tone_share(&agent_heard, 600.0),
        tone_share(&agent_heard, 1_400.0),
    );
    assert!(
        to_caller > 0.9 && wrong_to_caller < 0.01,
        "the caller should hear the agent's 1400 Hz: {to_caller:.3} (600 Hz: {wrong_to_caller:.3})\n{}",
        caller.log()
    );
    assert!(
        to_agent > 0.9 && wrong_to_agent < 0.01,
        "the agent should hear the caller's 600 Hz: {to_agent:.3} (1400 Hz: {wrong_to_agent:.3})\n{}",
        agent.log()
    );
}

#[test]
fn a_waiting_caller_hears_the_queues_music() {
    let mut server = Server::start(CENTER);
    // Nobody serves billing: the caller waits there, on early media (183 with SDP).
    let mut caller = Phone::start(
        &format!(
            "<sip:customer@{}>;regint=0;audio_codecs=PCMU",
            server.sip_address()
        ),
        600,
        &[
            "-t",
            "5",
            "-e",
            &format!("/dial sip:billing@{}", server.sip_address()),
        ],
    );
    assert!(caller.process.wait(Duration::from_secs(15)).is_some());
    server.stop();
    let heard = caller.heard();
    // The bundled music is an arpeggio of C5, E5, G5 and C6, half a second a note: in most
    // 50 ms windows one of the notes holds nearly all the power.
    assert!(
        heard.len() > 16_000,
        "recording too short: {} samples",
        heard.len()
    );
    let windows: Vec<f64> = heard[4_000..heard.len() - 4_000]
        .chunks_exact(400)
        .map(|window| {
            [523.25, 659.25, 783.99, 1_046.5]
                .iter()
                .map(|note| tone_power_ratio(window, *note))
                .fold(0.0, f64::max)
        })
        .collect();
    let musical = windows.iter().filter(|share| **share > 0.8).count();
    assert!(
        musical * 10 >= windows.len() * 8,
        "the waiting caller should hear the music: {musical} of {} windows hold a note\n{}",
        windows.len(),
        caller.log()
    );
    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].outcome, "abandoned");
}

/// The call's CDR columns: the recording's file name and its one secure span in ms, which
/// lasts the payments line's prompt and timeout (2.5 s).
fn recorded_call(server: &Server) -> (String, (u64, u64)) {
    recorded_call_with_span(server, 2_400..3_000)
}

/// [`recorded_call`] for a secure span whose length in ms is in `span_ms`.
fn recorded_call_with_span(server: &Server, span_ms: std::ops::Range<u64>) -> (String, (u64, u64)) {
    let connection = rusqlite::Connection::open(server.cdr_path()).unwrap();
    let (outcome, recording, paused): (String, Option<String>, Option<String>) = connection
        .query_row(
            "SELECT outcome, recording, recording_paused_ms FROM cdr",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    assert_eq!(outcome, "completed", "{}", server.log());
    let recording = recording.expect("the CDR names the recording");
    let paused = paused.expect("the CDR names the secure span");
    let (start_ms, end_ms) = paused
        .split_once('-')
        .map(|(start, end)| (start.parse::<u64>().unwrap(), end.parse::<u64>().unwrap()))
        .unwrap_or_else(|| panic!("one span expected: {paused:?}"));
    // From the call's arrival.
    assert!(start_ms < 200, "{paused}");
    assert!(span_ms.contains(&(end_ms - start_ms)), "{paused}");
    (recording, (start_ms, end_ms))
}

/// The stereo recording at `path` holds the caller's 600 Hz on the left and the agent's
/// 1400 Hz on the right, and digital silence over the secure span `(start_ms, end_ms)`.
fn assert_holds_both_phones_and_the_secure_silence(path: &Path, (start_ms, end_ms): (u64, u64)) {
    let (caller_channel, agent_channel) = recording_channels(path);
    let frames_per_ms = 8;
    let last = caller_channel.len();
    assert!(
        last > (end_ms as usize + 2_500) * frames_per_ms,
        "recording too short: {last} frames, secure until {end_ms} ms"
    );
    assert_silent_over_exactly(&[&caller_channel, &agent_channel], (start_ms, end_ms));
    // The caller talks all along: it is heard again as soon as the span ends.
    let after = end_ms as usize * frames_per_ms..(end_ms as usize + 200) * frames_per_ms;
    assert!(
        caller_channel[after].iter().any(|sample| *sample != 0),
        "the caller should be heard within 200 ms of the secure span's end ({end_ms} ms)"
    );
    // The conversation: from a second after the pause to half a second before the end.
    let talk = (end_ms as usize + 1_000) * frames_per_ms..last - 4_000;
    let caller_tone = tone_power_ratio(&caller_channel[talk.clone()], 600.0);
    let agent_tone = tone_power_ratio(&agent_channel[talk.clone()], 1_400.0);
    let caller_leak = tone_power_ratio(&caller_channel[talk.clone()], 1_400.0);
    let agent_leak = tone_power_ratio(&agent_channel[talk], 600.0);
    assert!(
        caller_tone > 0.9 && caller_leak < 0.01,
        "left channel: the caller's 600 Hz {caller_tone:.3} (1400 Hz: {caller_leak:.3})"
    );
    assert!(
        agent_tone > 0.9 && agent_leak < 0.01,
        "right channel: the agent's 1400 Hz {agent_tone:.3} (600 Hz: {agent_leak:.3})"
    );
}

/// Digital silence on every channel over exactly the span the CDR names: the media thread
/// places the pause at the switch's times, however late its commands arrive.
fn assert_silent_over_exactly(channels: &[&[i16]], (start_ms, end_ms): (u64, u64)) {
    let secure = start_ms as usize * 8..end_ms as usize * 8;
    for (index, channel) in channels.iter().enumerate() {
        let loud = channel[secure.clone()]
            .iter()
            .position(|sample| *sample != 0);
        assert!(
            loud.is_none(),
            "the secure span {start_ms}-{end_ms} should be silent: channel {index} has sound at \
             {} ms",
            loud.map_or(0, |frame| frame / 8) + start_ms as usize
        );
    }
}

fn recordings_folder(server: &Server) -> PathBuf {
    server.cdr_path().parent().unwrap().join("recordings")
}

#[test]
fn the_recording_holds_each_phone_on_its_channel_and_silence_over_the_secure_span() {
    let mut server = Server::start(CENTER);
    // The payments line collects a card number securely for 2.5 s, then the call goes to
    // sales: the caller talks 600 Hz all along, the agent 1400 Hz once it answers.
    let (agent, _caller) = agent_and_caller(&server, "payments-line", 7, || {});
    std::thread::sleep(Duration::from_millis(500));
    server.stop();
    drop(agent);
    let (recording, secure_span_ms) = recorded_call(&server);
    assert!(recording.ends_with(".wav"), "{recording}");
    assert!(
        server.log().contains("plain WAV"),
        "no warning about plain recordings:\n{}",
        server.log()
    );
    let path = recordings_folder(&server).join(&recording);
    assert_holds_both_phones_and_the_secure_silence(&path, secure_span_ms);
}

/// tests/media/center.toml in a folder of its own (its relative paths made absolute) with
/// `[live.compliance] recording_key_file` and a new master key file: recordings encrypted.
fn center_with_recording_keys() -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    let center = std::fs::read_to_string(common::repository_file(CENTER)).unwrap();
    let repository = common::repository_file("");
    let center = center
        .replace("\"../../", &format!("\"{}", repository.display()))
        .replace(
            "\"../sipp/",
            &format!("\"{}", repository.join("tests/sipp/").display()),
        );
    assert!(!center.contains("\"../"), "a relative path is left");
    std::fs::write(
        folder.path().join("center.toml"),
        format!("{center}\n[live.compliance]\nrecording_key_file = \"recording-keys.toml\"\n"),
    )
    .unwrap();
    let keys = switchboard_compliance::at_rest::Keyring::generate("2026-12");
    std::fs::write(folder.path().join("recording-keys.toml"), keys.to_text()).unwrap();
    folder
}

/// `switchboard serve` of the scenario in `folder` with `[live.compliance]` text appended:
/// it must refuse to start; what it printed.
fn serve_refuses(folder: &Path, compliance: &str) -> String {
    let center = folder.join("center.toml");
    let text = std::fs::read_to_string(&center).unwrap();
    // Without the shared API token, which per-user tokens exclude.
    let text = text
        .replace("api_token = \"test-token\"\n", "")
        .replace("recording_key_file = \"recording-keys.toml\"\n", compliance);
    let refused = folder.join("refused.toml");
    std::fs::write(&refused, text).unwrap();
    let (started, printed) = switchboard(
        &[
            "serve".as_ref(),
            refused.as_os_str(),
            "--sip".as_ref(),
            "127.0.0.1:0".as_ref(),
            "--http".as_ref(),
            "127.0.0.1:0".as_ref(),
            "--data".as_ref(),
            folder.join("data").as_os_str(),
        ],
        None,
    );
    assert!(!started, "{printed}");
    printed
}

#[test]
fn serve_refuses_a_missing_key_file_and_plain_recordings_under_retention() {
    let scenario = center_with_recording_keys();
    let printed = serve_refuses(
        scenario.path(),
        "recording_key_file = \"no-such-keys.toml\"\n",
    );
    let lines = std::fs::read_to_string(scenario.path().join("refused.toml"))
        .unwrap()
        .lines()
        .count();
    // The key's line in the scenario (the last one), its column, the file, what to do.
    let place =
        format!("refused.toml:{lines}:1: [live.compliance] recording_key_file: cannot read");
    assert!(printed.contains(&place), "{printed}");
    assert!(printed.contains("no-such-keys.toml"), "{printed}");
    assert!(
        printed.contains("switchboard recording keys new"),
        "{printed}"
    );
    assert!(printed.contains("^"), "a caret under the key: {printed}");

    // Retention deletes encrypted recordings only: plain ones with it would stay for ever.
    let retention = "tokens = \"tokens.toml\"\naudit_key = \"audit.key\"\n\
                     [live.compliance.retention]\nrecordings = \"180d\"\ntranscripts = \"90d\"\n";
    let printed = serve_refuses(scenario.path(), retention);
    assert!(
        printed.contains("[live.compliance.retention] with [live.recording] needs [live.compliance] recording_key_file"),
        "{printed}"
    );
}

/// `switchboard ARGUMENTS` with `token` in SWITCHBOARD_TOKEN: (succeeded, stdout + stderr).
fn switchboard(arguments: &[&std::ffi::OsStr], token: Option<&str>) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    command.args(arguments).env_remove("SWITCHBOARD_TOKEN");
    if let Some(token) = token {
        command.env("SWITCHBOARD_TOKEN", token);
    }
    let output = command.output().unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), printed)
}

#[test]
fn an_encrypted_recording_is_no_wav_on_disk_and_an_auditor_exports_it_with_a_reason() {
    let scenario = center_with_recording_keys();
    let center = scenario.path().join("center.toml");
    let mut server = Server::start(center.to_str().unwrap());
    let (agent, _caller) = agent_and_caller(&server, "payments-line", 7, || {});
    std::thread::sleep(Duration::from_millis(500));
    server.stop();
    drop(agent);
    let (recording, secure_span_ms) = recorded_call(&server);
    assert!(recording.ends_with(".wav.sbenc"), "{recording}");
    assert!(!server.log().contains("plain WAV"), "{}", server.log());

    // On disk: an encrypted file, no WAV header, no run of the audio in the clear.
    let encrypted = recordings_folder(&server).join(&recording);
    let bytes = std::fs::read(&encrypted).unwrap();
    assert_eq!(&bytes[..5], b"SBENC", "{}", encrypted.display());
    assert!(
        !bytes.windows(8).any(|window| window == b"WAVEfmt "),
        "a WAV header in the clear"
    );

    // The export: an auditor's token, a reason, the key file; audited.
    let tokens = scenario.path().join("tokens.toml");
    let (made, token) = switchboard(
        &[
            "token".as_ref(),
            "add".as_ref(),
            tokens.as_os_str(),
            "--user".as_ref(),
            "carol".as_ref(),
            "--role".as_ref(),
            "auditor".as_ref(),
        ],
        None,
    );
    assert!(made, "{token}");
    let token = token.lines().next().unwrap().trim().to_string();
    let (made, printed) = switchboard(
        &[
            "audit".as_ref(),
            "keygen".as_ref(),
            "--name".as_ref(),
            "audit.test/media".as_ref(),
            "--out".as_ref(),
            scenario.path().as_os_str(),
        ],
        None,
    );
    assert!(made, "{printed}");
    let audit = scenario.path().join("audit");
    let exports = scenario.path().join("exports");
    let export = |keys: &Path| {
        switchboard(
            &[
                "recording".as_ref(),
                "export".as_ref(),
                encrypted.as_os_str(),
                "--keys".as_ref(),
                keys.as_os_str(),
                "--tokens".as_ref(),
                tokens.as_os_str(),
                "--audit".as_ref(),
                audit.as_os_str(),
                "--audit-key".as_ref(),
                scenario.path().join("audit.key").as_os_str(),
                "--reason".as_ref(),
                "complaint 2026-1207".as_ref(),
                "--out".as_ref(),
                exports.as_os_str(),
            ],
            Some(&token),
        )
    };
    // Without the key the file was written with: a clear error, nothing written.
    let other_keys = scenario.path().join("other-keys.toml");
    std::fs::write(
        &other_keys,
        switchboard_compliance::at_rest::Keyring::generate("2027-01").to_text(),
    )
    .unwrap();
    let (exported, printed) = export(&other_keys);
    assert!(!exported, "{printed}");
    assert!(
        printed.contains("master key \"2026-12\", which the key file does not hold"),
        "{printed}"
    );
    assert!(!exports.join(recording.trim_end_matches(".sbenc")).exists());

    let (exported, printed) = export(&scenario.path().join("recording-keys.toml"));
    assert!(exported, "{printed}");
    let wav = exports.join(recording.trim_end_matches(".sbenc"));
    assert_eq!(printed.trim(), wav.display().to_string());
    assert_holds_both_phones_and_the_secure_silence(&wav, secure_span_ms);
    // The exported file is a complete WAV: its sizes are the real ones.
    let exported_bytes = std::fs::read(&wav).unwrap();
    let size_at = |offset: usize| {
        u32::from_le_bytes(exported_bytes[offset..offset + 4].try_into().unwrap()) as usize
    };
    assert_eq!(size_at(4), exported_bytes.len() - 8, "the RIFF size");
    assert_eq!(size_at(40), exported_bytes.len() - 44, "the data size");

    let log = std::fs::read_to_string(audit.join("log.jsonl")).unwrap();
    let exports_audited: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|record| record["action"] == "recording.export")
        .collect();
    assert_eq!(exports_audited.len(), 2, "{log}");
    for record in &exports_audited {
        assert_eq!(record["actor"], "carol");
        assert_eq!(record["detail"]["reason"], "complaint 2026-1207");
        assert!(record["target"].as_str().unwrap().ends_with(&recording));
    }
}

#[test]
fn the_api_stops_a_calls_recording_and_a_stopped_one_stays_stopped() {
    let mut server = Server::start(CENTER);
    let mut answers = Vec::new();
    let (_agent, _caller) = agent_and_caller(&server, "sales", 6, || {
        // The first call of the server is contact 1; it is recorded from its arrival.
        std::thread::sleep(Duration::from_secs(3));
        for on in [false, true] {
            answers.push(server.post(
                "/calls/1/recording",
                Some("test-token"),
                &format!("{{\"on\":{on}}}"),
            ));
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    server.stop();
    let (status, body) = &answers[0];
    assert_eq!(*status, 200, "{body}\n{}", server.log());
    let stopped: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(stopped["on"], false, "{body}");
    let file = stopped["recording"].as_str().expect(body).to_string();
    assert_eq!(
        answers[1].0, 409,
        "a call is recorded once: {:?}",
        answers[1]
    );

    let connection = rusqlite::Connection::open(server.cdr_path()).unwrap();
    let (recording, talk_ms): (Option<String>, i64) = connection
        .query_row("SELECT recording, talk_ms FROM cdr", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap();
    assert_eq!(recording.as_deref(), Some(file.as_str()));
    let path = server
        .cdr_path()
        .parent()
        .unwrap()
        .join("recordings")
        .join(&file);
    let (caller_channel, _) = recording_channels(&path);
    let recorded_ms = caller_channel.len() as i64 / 8;
    // Stopped 3 s after the caller started: well before the call's end.
    assert!(
        (2_000..4_500).contains(&recorded_ms) && recorded_ms < talk_ms + 1_000,
        "recorded {recorded_ms} ms of a call that talked {talk_ms} ms"
    );
}

/// The card number the caller keys on the card line (a test number, found nowhere else).
const CARD_DIGITS: &str = "40128888";

/// Every RTP packet a socket of the test gets, as the agent's phone would: (payload type,
/// payload), until `stop` is set.
fn collect_rtp(
    socket: std::net::UdpSocket,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Vec<(u8, Vec<u8>)>> {
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    std::thread::spawn(move || {
        let mut packets = Vec::new();
        let mut buffer = [0u8; 2048];
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok(length) = socket.recv(&mut buffer) {
                if length > 12 {
                    packets.push((buffer[1] & 0x7f, buffer[12..length].to_vec()));
                }
            }
        }
        packets
    })
}

/// Every file under `folder` whose bytes hold `needle`.
fn files_holding(folder: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![folder.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if std::fs::read(&path)
                .unwrap_or_default()
                .windows(needle.len())
                .any(|window| window == needle)
            {
                found.push(path);
            }
        }
    }
    found
}

/// The card line's secure `collect` node takes 8 digits keyed by a baresip caller as RFC 4733
/// telephone-events, one event per key: the switch gathers them into one entry, and the
/// routing follows it (the right number goes to sales, anything else to billing, where nobody
/// answers). The agent's leg — RTP to a socket of the test — gets the telephone-event of the
/// key pressed after the answer and none of the card's; the recording is silent over the
/// secure span, and the digits are in no CDR column, no API answer, no decisions line, no
/// file of the data folder and not in the log.
#[test]
fn card_digits_keyed_as_rfc_4733_events_route_the_call_and_reach_no_agent_record_or_file() {
    let decisions_folder = tempfile::tempdir().unwrap();
    let decisions = decisions_folder.path().join("decisions.jsonl");
    let mut server = Server::start_logging(
        CENTER,
        &["--decisions", &decisions.display().to_string()],
        "debug",
    );
    let rtp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let rtp_port = rtp.local_addr().unwrap().port();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let agent_rtp = collect_rtp(rtp, stop.clone());
    let _agent = server.agent_with(
        "sales-team-1",
        "agent_answer_rtp.xml",
        &["-key", "rtp_port", &rtp_port.to_string()],
    );
    wait_registered(&server, "sales-team-1");
    let console_port = free_udp_port();
    let mut caller = Phone::start_with_config(
        &format!(
            "<sip:customer@{}>;regint=0;audio_codecs=PCMU",
            server.sip_address()
        ),
        600,
        &[
            "-t",
            "9",
            "-e",
            &format!("/dial sip:card-line@{}", server.sip_address()),
        ],
        &format!("module cons.so\ncons_listen 127.0.0.1:{console_port}\n"),
    );
    // baresip's console takes key presses by UDP; in a call they are sent as RFC 4733 events.
    let console = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let press = |key: char| {
        console
            .send_to(key.to_string().as_bytes(), ("127.0.0.1", console_port))
            .unwrap();
        std::thread::sleep(Duration::from_millis(250));
    };
    std::thread::sleep(Duration::from_millis(1_000));
    CARD_DIGITS.chars().for_each(press);
    // Routed to sales and answered by now; the next key is for the agent.
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline
        && !server
            .read("/agents/sales-team-1")
            .1
            .contains("\"state\":\"busy\"")
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    let answers: Vec<String> = [
        "/agents",
        "/agents/sales-team-1",
        "/agents/sales-team-1/contacts",
        "/queues",
        "/queues/sales",
    ]
    .iter()
    .map(|path| server.read(path).1)
    .collect();
    press('9');
    assert!(
        caller.process.wait(Duration::from_secs(15)).is_some(),
        "the caller did not finish"
    );
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let packets = agent_rtp.join().unwrap();
    server.stop();

    // Routing followed the entry, and the CDR names the one secure span.
    let (recording, (start_ms, end_ms)) = recorded_call_with_span(&server, 1_500..6_000);
    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows[0].queue.as_deref(), Some("sales"), "{rows:?}");
    assert_eq!(rows[0].agent.as_deref(), Some("sales-team-1"), "{rows:?}");

    // The agent's leg: audio, and the telephone-event of the key after the answer only.
    let events: Vec<u8> = packets
        .iter()
        .filter(|(payload_type, _)| *payload_type == 101)
        .map(|(_, payload)| payload[0])
        .collect();
    assert!(
        packets.iter().any(|(payload_type, _)| *payload_type == 0),
        "the agent's leg got no audio"
    );
    assert!(
        !events.is_empty(),
        "the key after the answer should reach the agent: {} packets\n{}",
        packets.len(),
        caller.log()
    );
    assert!(
        events.iter().all(|event| *event == 9),
        "the agent's leg got telephone-events {events:?}: only 9 (the key after the answer) may \
         be there"
    );

    // The recording: silence over the secure span, the caller's tone after it.
    let (caller_channel, _) = recording_channels(&recordings_folder(&server).join(&recording));
    assert_silent_over_exactly(&[&caller_channel], (start_ms, end_ms));
    let after = (end_ms as usize + 500) * 8..caller_channel.len() - 4_000;
    assert!(tone_power_ratio(&caller_channel[after], 600.0) > 0.9);

    // The digits are nowhere: API answers, decisions, data folder, log.
    let decisions_text = std::fs::read_to_string(&decisions).unwrap();
    assert!(decisions_text.lines().count() > 3, "{decisions_text}");
    for (what, text) in answers
        .iter()
        .map(|answer| ("an API answer", answer.as_str()))
        .chain([("the decisions", decisions_text.as_str())])
        .chain([("the log", server.log().as_str())])
    {
        assert!(
            !text.contains(CARD_DIGITS),
            "{what} holds the card number:\n{text}"
        );
    }
    let data = server.cdr_path().parent().unwrap().to_path_buf();
    assert_eq!(
        files_holding(&data, CARD_DIGITS.as_bytes()),
        Vec::<PathBuf>::new()
    );
}

#[test]
fn after_a_transfer_the_caller_hears_the_second_agent() {
    let mut server = Server::start(CENTER);
    // billing-team-1's phone sends 1000 Hz; sales-team-1's (in `agent_and_caller`) 1400 Hz.
    let billing = Phone::start(
        &format!(
            "<sip:billing-team-1@{}>;regint=60;answermode=auto;audio_codecs=PCMU;auth_pass={}",
            server.sip_address(),
            common::AGENT_PASSWORD
        ),
        1_000,
        &["-t", "25"],
    );
    wait_registered(&server, "billing-team-1");
    let mut transfer = (0, String::new());
    let (sales, caller) = agent_and_caller(&server, "sales", 10, || {
        let deadline = Instant::now() + Duration::from_secs(10);
        let contact = loop {
            let (_, body) = server.read("/agents/sales-team-1/contacts");
            let contacts: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            let talking = contacts.as_array().and_then(|contacts| {
                contacts
                    .iter()
                    .find(|contact| contact["state"] == "talking")
                    .and_then(|contact| contact["contact_id"].as_u64())
            });
            if let Some(contact) = talking {
                break contact;
            }
            assert!(Instant::now() < deadline, "sales-team-1 never answered");
            std::thread::sleep(Duration::from_millis(100));
        };
        // A moment of conversation with the first agent, then the hand-over.
        std::thread::sleep(Duration::from_millis(2_500));
        transfer = server.post(
            &format!("/calls/{contact}/transfer"),
            Some(common::TOKEN),
            r#"{"queue":"billing"}"#,
        );
    });
    assert_eq!(transfer.0, 200, "{}\n{}", transfer.1, server.log());
    std::thread::sleep(Duration::from_millis(500));
    server.stop();
    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 2, "{rows:?}\n{}", server.log());

    // The last three seconds before the caller hung up (half a second of tear-down left out)
    // are the billing agent's tone alone.
    let caller_heard = caller.heard();
    assert!(caller_heard.len() > 40_000, "{}", caller.log());
    let end = caller_heard.len() - 4_000;
    let tail = &caller_heard[end - 24_000..end];
    let (second_agent, first_agent) = (
        tone_power_ratio(tail, 1_000.0),
        tone_power_ratio(tail, 1_400.0),
    );
    assert!(
        second_agent > 0.9 && first_agent < 0.01,
        "after the transfer the caller should hear billing's 1000 Hz: {second_agent:.3} \
         (sales' 1400 Hz: {first_agent:.3})\n{}",
        server.log()
    );
    // Both agents heard the caller's 600 Hz while each talked to it.
    for (name, phone) in [("sales", &sales), ("billing", &billing)] {
        let heard = phone.heard();
        let share = tone_share(&heard, 600.0);
        assert!(
            share > 0.9,
            "{name} heard the caller's 600 Hz: {share:.3}\n{}",
            phone.log()
        );
    }
}

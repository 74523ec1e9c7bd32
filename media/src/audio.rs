//! Audio the switch plays: prompts and music loaded from WAV files (with `hound`), tones, and
//! a player that cuts them into 20 ms frames.
//!
//! Everything is 8,000 Hz, mono, 16-bit: what G.711 carries. A file in another format is
//! refused with a message that says how to convert it, rather than resampled badly.

use std::path::Path;
use std::sync::Arc;

/// Samples per second of every stream.
pub const SAMPLE_RATE_HZ: u32 = 8_000;
/// Samples in one 20 ms frame.
pub const FRAME_SAMPLES: usize = 160;

/// A clip of 8 kHz mono audio, shared between every call that plays it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audio {
    samples: Arc<[i16]>,
}

impl Audio {
    pub fn from_samples(samples: Vec<i16>) -> Audio {
        Audio {
            samples: samples.into(),
        }
    }

    pub fn samples(&self) -> &[i16] {
        &self.samples
    }

    pub fn duration_ms(&self) -> u64 {
        self.samples.len() as u64 * 1_000 / SAMPLE_RATE_HZ as u64
    }

    /// A sine tone (for tests, and for a beep where no file is configured).
    pub fn tone(frequency_hz: f64, duration_ms: u32, amplitude: i16) -> Audio {
        let count = (duration_ms as usize) * SAMPLE_RATE_HZ as usize / 1_000;
        let step = 2.0 * std::f64::consts::PI * frequency_hz / SAMPLE_RATE_HZ as f64;
        Audio::from_samples(
            (0..count)
                .map(|index| ((index as f64 * step).sin() * amplitude as f64) as i16)
                .collect(),
        )
    }

    pub fn silence(duration_ms: u32) -> Audio {
        Audio::from_samples(vec![
            0;
            duration_ms as usize * SAMPLE_RATE_HZ as usize / 1_000
        ])
    }

    /// Read a WAV file: 8,000 Hz, mono, 16-bit PCM.
    pub fn load_wav(path: &Path) -> Result<Audio, String> {
        let reader = hound::WavReader::open(path)
            .map_err(|error| format!("{}: cannot read WAV: {error}", path.display()))?;
        Audio::from_wav_reader(reader).map_err(|problem| format!("{}: {problem}", path.display()))
    }

    pub fn from_wav_bytes(bytes: &[u8]) -> Result<Audio, String> {
        let reader = hound::WavReader::new(std::io::Cursor::new(bytes))
            .map_err(|error| format!("cannot read WAV: {error}"))?;
        Audio::from_wav_reader(reader)
    }

    fn from_wav_reader<R: std::io::Read>(reader: hound::WavReader<R>) -> Result<Audio, String> {
        let spec = reader.spec();
        if spec.sample_rate != SAMPLE_RATE_HZ
            || spec.channels != 1
            || spec.bits_per_sample != 16
            || spec.sample_format != hound::SampleFormat::Int
        {
            return Err(format!(
                "expected 8000 Hz mono 16-bit PCM, found {} Hz, {} channel(s), {} bits {:?} \
                 (convert with: sox IN.wav -r 8000 -c 1 -b 16 OUT.wav)",
                spec.sample_rate, spec.channels, spec.bits_per_sample, spec.sample_format
            ));
        }
        let samples = reader
            .into_samples::<i16>()
            .collect::<Result<Vec<i16>, _>>()
            .map_err(|error| format!("cannot read samples: {error}"))?;
        if samples.is_empty() {
            return Err("the file holds no samples".into());
        }
        Ok(Audio::from_samples(samples))
    }
}

/// What a leg hears, frame by frame: a sequence of clips, then either silence or a loop.
///
/// Announcements interrupt a loop (music on hold) and the loop resumes where it stopped.
#[derive(Clone, Debug)]
pub struct Player {
    queue: std::collections::VecDeque<Audio>,
    position: usize,
    looped: Option<(Audio, usize)>,
}

impl Player {
    /// Play `clips` once each, in order, then stop.
    pub fn once(clips: Vec<Audio>) -> Player {
        Player {
            queue: clips.into(),
            position: 0,
            looped: None,
        }
    }

    /// Play `clip` over and over.
    pub fn looping(clip: Audio) -> Player {
        Player {
            queue: Default::default(),
            position: 0,
            looped: Some((clip, 0)),
        }
    }

    /// Play `clips` now; a loop resumes after them.
    pub fn interrupt(&mut self, clips: Vec<Audio>) {
        self.queue = clips.into();
        self.position = 0;
    }

    /// Nothing left to play (a loop never finishes).
    pub fn finished(&self) -> bool {
        self.queue.is_empty() && self.looped.is_none()
    }

    /// Fill one frame; silence where there is nothing to play.
    pub fn next_frame(&mut self, frame: &mut [i16; FRAME_SAMPLES]) {
        let mut filled = 0;
        // Bounded: each turn consumes samples or drops an empty clip.
        while filled < FRAME_SAMPLES {
            if let Some(clip) = self.queue.front() {
                let samples = clip.samples();
                let take = (samples.len() - self.position).min(FRAME_SAMPLES - filled);
                frame[filled..filled + take]
                    .copy_from_slice(&samples[self.position..self.position + take]);
                filled += take;
                self.position += take;
                if self.position >= samples.len() {
                    self.queue.pop_front();
                    self.position = 0;
                }
                continue;
            }
            match &mut self.looped {
                Some((clip, position)) if !clip.samples().is_empty() => {
                    let samples = clip.samples();
                    let take = (samples.len() - *position).min(FRAME_SAMPLES - filled);
                    frame[filled..filled + take]
                        .copy_from_slice(&samples[*position..*position + take]);
                    filled += take;
                    *position = (*position + take) % samples.len();
                }
                _ => {
                    frame[filled..].fill(0);
                    return;
                }
            }
        }
    }
}

/// The power of `frequency_hz` in `samples` relative to the signal's whole power (0–1), by the
/// Goertzel algorithm: how a test tells which tone went where.
pub fn tone_power_ratio(samples: &[i16], frequency_hz: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let omega = 2.0 * std::f64::consts::PI * frequency_hz / SAMPLE_RATE_HZ as f64;
    let coefficient = 2.0 * omega.cos();
    let (mut previous, mut before_previous) = (0.0f64, 0.0f64);
    let mut energy = 0.0f64;
    for &sample in samples {
        let value = sample as f64;
        energy += value * value;
        let current = value + coefficient * previous - before_previous;
        before_previous = previous;
        previous = current;
    }
    let power = previous * previous + before_previous * before_previous
        - coefficient * previous * before_previous;
    if energy == 0.0 {
        return 0.0;
    }
    // A pure tone of N samples gives power = energy * N / 2.
    (2.0 * power / (energy * samples.len() as f64)).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goertzel_finds_the_tone_that_is_there() {
        let tone = Audio::tone(1_000.0, 500, 8_000);
        assert!(tone_power_ratio(tone.samples(), 1_000.0) > 0.95);
        assert!(tone_power_ratio(tone.samples(), 600.0) < 0.01);
        assert_eq!(
            tone_power_ratio(Audio::silence(100).samples(), 1_000.0),
            0.0
        );
    }

    #[test]
    fn a_player_plays_clips_then_silence_and_a_loop_resumes_after_an_interruption() {
        let mut frame = [1i16; FRAME_SAMPLES];
        let mut once = Player::once(vec![Audio::from_samples(vec![5; 200])]);
        once.next_frame(&mut frame);
        assert!(frame.iter().all(|&sample| sample == 5));
        once.next_frame(&mut frame);
        assert!(frame[..40].iter().all(|&sample| sample == 5));
        assert!(frame[40..].iter().all(|&sample| sample == 0));
        assert!(once.finished());

        let music = Audio::from_samples((0..100).collect());
        let mut hold = Player::looping(music);
        hold.next_frame(&mut frame);
        assert_eq!(frame[99], 99);
        assert_eq!(frame[100], 0, "the loop wraps");
        assert_eq!(frame[159], 59);
        hold.interrupt(vec![Audio::from_samples(vec![-1; 160])]);
        hold.next_frame(&mut frame);
        assert!(frame.iter().all(|&sample| sample == -1));
        hold.next_frame(&mut frame);
        assert_eq!(frame[0], 60, "music resumes where it stopped");
        assert!(!hold.finished());
    }

    #[test]
    fn a_wav_in_the_wrong_format_is_refused_with_the_fix() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("wide.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(&path, spec).unwrap();
        writer.write_sample(0i16).unwrap();
        writer.finalize().unwrap();
        let error = Audio::load_wav(&path).unwrap_err();
        assert!(
            error.contains("16000 Hz") && error.contains("sox"),
            "{error}"
        );

        let good = directory.path().join("good.wav");
        let spec = hound::WavSpec {
            sample_rate: 8_000,
            ..spec
        };
        let mut writer = hound::WavWriter::create(&good, spec).unwrap();
        for sample in Audio::tone(440.0, 100, 1_000).samples() {
            writer.write_sample(*sample).unwrap();
        }
        writer.finalize().unwrap();
        assert_eq!(Audio::load_wav(&good).unwrap().duration_ms(), 100);
    }
}

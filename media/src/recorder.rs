//! A call's recording as a stereo timeline: the caller's audio on the left channel, the
//! agent's on the right, each placed by its RTP timestamps so that jitter moves nothing, with
//! silence where a side sent nothing and over every secure pause.
//!
//! The recorder holds at most a few seconds per call: frames older than the jitter allowance
//! are handed out in chunks (interleaved left/right samples) for the driver to write.

use std::collections::VecDeque;

use crate::audio::SAMPLE_RATE_HZ;

const FRAMES_PER_MS: u64 = SAMPLE_RATE_HZ as u64 / 1_000;
/// How late a packet may arrive and still be placed (jitter allowance).
const DELAY_FRAMES: u64 = 200 * FRAMES_PER_MS;
/// How far ahead of the clock a packet may claim to be before its stream is re-anchored.
const AHEAD_FRAMES: u64 = 2_000 * FRAMES_PER_MS;
/// Frames per chunk handed out while recording.
pub const CHUNK_FRAMES: u64 = 8_000;

/// One side's placement of RTP time on the recording's time.
#[derive(Clone, Copy, Debug)]
struct Anchor {
    ssrc: u32,
    rtp_timestamp: u32,
    frame: u64,
}

#[derive(Clone, Debug, Default)]
struct Track {
    /// Samples from the recorder's `written_frames` on.
    samples: VecDeque<i16>,
    anchor: Option<Anchor>,
}

/// See the module documentation. Channel 0 is left (caller), 1 is right (agent).
#[derive(Clone, Debug)]
pub struct StereoRecorder {
    started_ms: u64,
    written_frames: u64,
    tracks: [Track; 2],
    /// Secure pauses as frame spans; the last one may still be open.
    pauses: Vec<(u64, Option<u64>)>,
}

impl StereoRecorder {
    pub fn new(started_ms: u64) -> StereoRecorder {
        StereoRecorder {
            started_ms,
            written_frames: 0,
            tracks: Default::default(),
            pauses: Vec::new(),
        }
    }

    pub fn started_ms(&self) -> u64 {
        self.started_ms
    }

    fn frame_at(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.started_ms) * FRAMES_PER_MS
    }

    pub fn paused(&self) -> bool {
        self.pauses.last().is_some_and(|(_, end)| end.is_none())
    }

    /// Audio received on `channel` at `now_ms`, in an RTP stream `ssrc` at `rtp_timestamp`.
    pub fn push(
        &mut self,
        now_ms: u64,
        channel: usize,
        ssrc: u32,
        rtp_timestamp: u32,
        samples: &[i16],
    ) {
        assert!(channel < 2, "a stereo recording has two channels");
        if self.paused() {
            return;
        }
        let now_frame = self.frame_at(now_ms);
        let written = self.written_frames;
        let track = &mut self.tracks[channel];
        let placed = track
            .anchor
            .filter(|anchor| anchor.ssrc == ssrc)
            .and_then(|anchor| {
                let offset = rtp_timestamp.wrapping_sub(anchor.rtp_timestamp) as i32 as i64;
                let frame = anchor.frame as i64 + offset;
                let plausible = frame + samples.len() as i64 >= written as i64
                    && frame <= (now_frame + AHEAD_FRAMES) as i64
                    && frame + (DELAY_FRAMES as i64) * 2 >= now_frame as i64;
                plausible.then_some(frame)
            });
        let frame = match placed {
            Some(frame) => frame,
            None => {
                // A new stream (or one whose clock jumped): it starts now.
                let frame = now_frame.max(written);
                track.anchor = Some(Anchor {
                    ssrc,
                    rtp_timestamp,
                    frame,
                });
                frame as i64
            }
        };
        let skip = (written as i64 - frame).max(0) as usize;
        if skip >= samples.len() {
            return;
        }
        let start = (frame - written as i64).max(0) as usize;
        let samples = &samples[skip..];
        if start == track.samples.len() {
            // The common case: the next packet in order.
            track.samples.extend(samples);
        } else {
            let end = start + samples.len();
            if track.samples.len() < end {
                track.samples.resize(end, 0);
            }
            for (slot, sample) in track.samples.range_mut(start..end).zip(samples) {
                *slot = *sample;
            }
        }
    }

    /// A secure pause starts: both channels are silent until [`StereoRecorder::resume`].
    pub fn pause(&mut self, now_ms: u64) {
        if !self.paused() {
            let frame = self.frame_at(now_ms).max(self.written_frames);
            self.pauses.push((frame, None));
        }
    }

    pub fn resume(&mut self, now_ms: u64) {
        let frame = self.frame_at(now_ms);
        if let Some((start, end @ None)) = self.pauses.last_mut() {
            *end = Some(frame.max(*start));
        }
    }

    /// Paused spans in milliseconds from the start of the recording (an open pause ends now).
    pub fn paused_spans_ms(&self, now_ms: u64) -> Vec<(u64, u64)> {
        let now_frame = self.frame_at(now_ms);
        self.pauses
            .iter()
            .map(|(start, end)| {
                (
                    start / FRAMES_PER_MS,
                    end.unwrap_or(now_frame.max(*start)) / FRAMES_PER_MS,
                )
            })
            .collect()
    }

    /// Frames written so far, and so the length of the recording.
    pub fn frames_written(&self) -> u64 {
        self.written_frames
    }

    /// A chunk of interleaved samples when a whole one is older than the jitter allowance.
    pub fn poll_chunk(&mut self, now_ms: u64) -> Option<Vec<i16>> {
        let ready = self.frame_at(now_ms).saturating_sub(DELAY_FRAMES);
        (ready >= self.written_frames + CHUNK_FRAMES).then(|| self.take(CHUNK_FRAMES))
    }

    /// Everything up to now and whatever arrived ahead of it: the recording's end.
    pub fn finish(&mut self, now_ms: u64) -> Vec<i16> {
        self.resume(now_ms);
        let buffered = self
            .tracks
            .iter()
            .map(|track| track.samples.len() as u64)
            .max();
        let until_now = self.frame_at(now_ms).saturating_sub(self.written_frames);
        self.take(buffered.unwrap_or(0).max(until_now))
    }

    fn take(&mut self, frames: u64) -> Vec<i16> {
        let first = self.written_frames;
        let count = frames as usize;
        let mut chunk = vec![0i16; count * 2];
        for (channel, track) in self.tracks.iter_mut().enumerate() {
            let available = track.samples.len().min(count);
            for (index, sample) in track.samples.drain(..available).enumerate() {
                chunk[index * 2 + channel] = sample;
            }
        }
        for (start, end) in &self.pauses {
            let end = end.unwrap_or(u64::MAX);
            let from = start.max(&first).saturating_sub(first).min(frames) as usize;
            let to = end.saturating_sub(first).min(frames) as usize;
            if from < to {
                chunk[from * 2..to * 2].fill(0);
            }
        }
        self.written_frames += frames;
        chunk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(chunk: &[i16], index: usize) -> Vec<i16> {
        chunk.iter().skip(index).step_by(2).copied().collect()
    }

    #[test]
    fn packets_are_placed_by_timestamp_whatever_their_arrival() {
        let mut recorder = StereoRecorder::new(1_000);
        // The caller's packets: one at t=1000, the next arrives 35 ms late (jitter).
        recorder.push(1_000, 0, 7, 50_000, &[1; 160]);
        recorder.push(1_055, 0, 7, 50_160, &[2; 160]);
        // The agent starts 10 ms in.
        recorder.push(1_010, 1, 9, 3, &[3; 160]);
        let all = recorder.finish(1_040);
        let left = channel(&all, 0);
        let right = channel(&all, 1);
        assert!(left[..160].iter().all(|&sample| sample == 1));
        assert!(left[160..320].iter().all(|&sample| sample == 2));
        assert!(right[..80].iter().all(|&sample| sample == 0));
        assert!(right[80..240].iter().all(|&sample| sample == 3));
    }

    #[test]
    fn a_secure_pause_is_silent_on_both_channels_and_reported() {
        let mut recorder = StereoRecorder::new(0);
        for packet in 0..50u32 {
            let now = packet as u64 * 20;
            if now == 200 {
                recorder.pause(now);
            }
            if now == 600 {
                recorder.resume(now);
            }
            recorder.push(now, 0, 1, packet * 160, &[100; 160]);
            recorder.push(now, 1, 2, packet * 160, &[-100; 160]);
        }
        let all = recorder.finish(1_000);
        assert_eq!(all.len(), 8_000 * 2);
        for (frame, pair) in all.chunks(2).enumerate() {
            let inside = (1_600..4_800).contains(&frame);
            let expected = if inside { [0, 0] } else { [100, -100] };
            assert_eq!(pair, expected, "frame {frame}");
        }
        assert_eq!(recorder.paused_spans_ms(1_000), [(200, 600)]);
    }

    #[test]
    fn chunks_come_out_once_older_than_the_jitter_allowance_and_memory_stays_bounded() {
        let mut recorder = StereoRecorder::new(0);
        let mut frames_out = 0;
        for packet in 0..500u32 {
            let now = packet as u64 * 20;
            recorder.push(now, 0, 1, packet * 160, &[1; 160]);
            while let Some(chunk) = recorder.poll_chunk(now) {
                frames_out += chunk.len() / 2;
            }
            assert!(recorder.tracks[0].samples.len() as u64 <= CHUNK_FRAMES + DELAY_FRAMES + 160);
        }
        assert_eq!(frames_out, 9 * CHUNK_FRAMES as usize);
        // A stream whose timestamps jump far ahead is re-anchored at the present.
        recorder.push(10_000, 1, 5, 0, &[1; 160]);
        recorder.push(10_020, 1, 5, 4_000_000_000, &[1; 160]);
        assert!(recorder.tracks[1].samples.len() as u64 <= CHUNK_FRAMES * 2);
    }
}

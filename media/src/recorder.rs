//! A call's recording as a stereo timeline: the caller's audio on the left channel, the
//! agent's on the right, each placed by its RTP timestamps so that jitter moves nothing, with
//! silence where a side sent nothing and over every secure pause.
//!
//! The recorder holds at most a few seconds per call: frames older than the jitter allowance
//! are handed out in chunks (interleaved left/right samples) for the driver to write.
//!
//! Secure pauses and the recording's start and stop are placed at the times the switch chose
//! them, which may lie in the recorder's past: the command reaches the media thread later
//! than the switch sent it. Every frame is kept (secure or not) until it is written, and the
//! pauses are applied as it is written, so a late "secure on" still silences what arrived
//! before it. A driver that tells the recorder how far the switch's commands are settled
//! ([`StereoRecorder::settle`]) has frames held until then, up to [`HOLD_FRAMES`]; within
//! that bound the file is silent over exactly the switch's spans.

use std::collections::VecDeque;

use crate::audio::SAMPLE_RATE_HZ;

const FRAMES_PER_MS: u64 = SAMPLE_RATE_HZ as u64 / 1_000;
/// How late a packet may arrive and still be placed (jitter allowance).
const DELAY_FRAMES: u64 = 200 * FRAMES_PER_MS;
/// How far ahead of the clock a packet may claim to be before its stream is re-anchored.
const AHEAD_FRAMES: u64 = 2_000 * FRAMES_PER_MS;
/// Frames per chunk handed out while recording.
pub const CHUNK_FRAMES: u64 = 8_000;
/// How long frames wait past the jitter allowance for the switch's commands to settle before
/// they are written anyway (a switch stalled this long): bounds the memory of a call.
pub const HOLD_FRAMES: u64 = 2_000 * FRAMES_PER_MS;

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
    /// No command placed before this time (the switch's clock) is still to come; `None`: the
    /// driver does not say, and frames are written once older than the jitter allowance.
    settled_ms: Option<u64>,
    /// Frames written before the switch's commands had settled over them (the switch stalled
    /// longer than [`HOLD_FRAMES`]).
    written_unsettled_frames: u64,
}

impl StereoRecorder {
    pub fn new(started_ms: u64) -> StereoRecorder {
        StereoRecorder {
            started_ms,
            written_frames: 0,
            tracks: Default::default(),
            pauses: Vec::new(),
            settled_ms: None,
            written_unsettled_frames: 0,
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
        // Kept even while paused: a pause is applied when frames are written, so that one
        // placed in the past (a late command) silences what came before it arrived.
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

    /// A secure pause starts at `at_ms` (which may have passed): both channels are silent
    /// from then until [`StereoRecorder::resume`]. A pause placed over frames already written
    /// starts after them (and is counted in [`StereoRecorder::unsettled_frames`]).
    pub fn pause(&mut self, at_ms: u64) {
        if !self.paused() {
            let frame = self.frame_at(at_ms).max(self.written_frames);
            self.pauses.push((frame, None));
        }
    }

    /// The open pause ends at `at_ms` (which may have passed).
    pub fn resume(&mut self, at_ms: u64) {
        let frame = self.frame_at(at_ms).max(self.written_frames);
        if let Some((start, end @ None)) = self.pauses.last_mut() {
            *end = Some(frame.max(*start));
        }
    }

    /// Every command placed before `settled_ms` (the switch's clock) has been given to the
    /// recorder: frames before it may be written.
    pub fn settle(&mut self, settled_ms: u64) {
        self.settled_ms = Some(
            self.settled_ms
                .map_or(settled_ms, |old| old.max(settled_ms)),
        );
    }

    /// Frames written while the switch's commands over them had not settled (a stall longer
    /// than [`HOLD_FRAMES`]): a pause placed over them could not silence them.
    pub fn unsettled_frames(&self) -> u64 {
        self.written_unsettled_frames
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

    /// A chunk of interleaved samples when a whole one is older than the jitter allowance
    /// and, when the driver says how far the switch's commands are settled, before that (or
    /// held [`HOLD_FRAMES`] past the allowance: the bound).
    pub fn poll_chunk(&mut self, now_ms: u64) -> Option<Vec<i16>> {
        let old = self.frame_at(now_ms).saturating_sub(DELAY_FRAMES);
        let ready = match self.settled_ms {
            None => old,
            Some(settled_ms) => old.min(
                self.frame_at(settled_ms)
                    .max(old.saturating_sub(HOLD_FRAMES)),
            ),
        };
        if ready < self.written_frames + CHUNK_FRAMES {
            return None;
        }
        if let Some(settled_ms) = self.settled_ms {
            let settled = self.frame_at(settled_ms);
            let end = self.written_frames + CHUNK_FRAMES;
            self.written_unsettled_frames += end.saturating_sub(settled.max(self.written_frames));
        }
        Some(self.take(CHUNK_FRAMES))
    }

    /// The recording ends at `at_ms` (the switch's stop, which may have passed): everything
    /// before it is written, whatever arrived later is not part of the recording.
    pub fn finish(&mut self, at_ms: u64) -> Vec<i16> {
        self.resume(at_ms);
        let until_stop = self.frame_at(at_ms).saturating_sub(self.written_frames);
        self.take(until_stop)
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

    /// The caller's and agent's packets every 20 ms from `from_ms` to `to_ms`, each call
    /// of `between` given the time before the packets of that time are pushed.
    fn stream(
        recorder: &mut StereoRecorder,
        from_ms: u64,
        to_ms: u64,
        mut between: impl FnMut(&mut StereoRecorder, u64),
    ) -> Vec<i16> {
        let mut written = Vec::new();
        for now in (from_ms..to_ms).step_by(20) {
            between(recorder, now);
            let packet = (now / 20) as u32;
            recorder.push(now, 0, 1, packet * 160, &[100; 160]);
            recorder.push(now, 1, 2, packet * 160, &[-100; 160]);
            while let Some(chunk) = recorder.poll_chunk(now) {
                written.extend(chunk);
            }
        }
        written
    }

    #[test]
    fn a_secure_pause_that_arrives_late_silences_exactly_the_switchs_span() {
        let mut recorder = StereoRecorder::new(0);
        // The switch turned secure on at 300 ms and off at 1,230 ms; the commands reach the
        // media thread 180 ms and 90 ms later, with the audio of those times already pushed.
        let mut written = stream(&mut recorder, 0, 3_000, |recorder, now| {
            recorder.settle(now.saturating_sub(200));
            if now == 480 {
                recorder.pause(300);
            }
            if now == 1_320 {
                recorder.resume(1_230);
            }
        });
        assert!(
            !written.is_empty(),
            "chunks were written while the call went on"
        );
        written.extend(recorder.finish(3_000));
        assert_eq!(written.len(), 3_000 * 8 * 2);
        for (frame, pair) in written.chunks(2).enumerate() {
            let secure = (300 * 8..1_230 * 8).contains(&frame);
            let expected = if secure { [0, 0] } else { [100, -100] };
            assert_eq!(pair, expected, "frame {frame}");
        }
        assert_eq!(recorder.paused_spans_ms(3_000), [(300, 1_230)]);
        assert_eq!(recorder.unsettled_frames(), 0);
    }

    #[test]
    fn frames_wait_for_the_switchs_commands_to_settle_within_a_bound() {
        let mut recorder = StereoRecorder::new(0);
        // The switch has settled nothing past 100 ms: nothing after it is written until the
        // hold's bound passes.
        recorder.settle(100);
        let written = stream(&mut recorder, 0, 3_000, |_, _| {});
        assert!(written.is_empty(), "{} samples written", written.len());
        // A late pause back at 150 ms still silences everything from then.
        recorder.pause(150);
        recorder.settle(2_000);
        recorder.resume(2_000);
        let mut written = stream(&mut recorder, 3_000, 4_000, |_, _| {});
        written.extend(recorder.finish(4_000));
        let left: Vec<i16> = channel(&written, 0);
        assert!(left[..150 * 8].iter().all(|&sample| sample == 100));
        assert!(left[150 * 8..2_000 * 8].iter().all(|&sample| sample == 0));
        assert!(left[2_000 * 8..].iter().all(|&sample| sample == 100));
        assert_eq!(recorder.unsettled_frames(), 0);

        // A switch that stalls: frames are written anyway once held past the bound, and
        // counted as unsettled.
        let mut stalled = StereoRecorder::new(0);
        stalled.settle(0);
        let written = stream(&mut stalled, 0, 6_000, |_, _| {});
        let held_ms = 6_000 - 20 - written.len() as u64 / 16;
        let bound_ms = (DELAY_FRAMES + HOLD_FRAMES) / FRAMES_PER_MS;
        assert!(
            (bound_ms..bound_ms + CHUNK_FRAMES / FRAMES_PER_MS).contains(&held_ms),
            "held {held_ms} ms"
        );
        assert_eq!(stalled.unsettled_frames(), written.len() as u64 / 2);
    }

    #[test]
    fn the_recording_ends_at_the_switchs_stop_whatever_arrived_after_it() {
        let mut recorder = StereoRecorder::new(1_000);
        recorder.pause(1_500);
        let mut written = stream(&mut recorder, 1_000, 2_600, |_, _| {});
        // The stop was at 2,000 ms, while secure: the audio after it is not in the file.
        written.extend(recorder.finish(2_000));
        assert_eq!(written.len(), 1_000 * 8 * 2);
        assert!(written[..500 * 16]
            .iter()
            .all(|&sample| sample.abs() == 100));
        assert!(written[500 * 16..].iter().all(|&sample| sample == 0));
        assert_eq!(recorder.paused_spans_ms(2_000), [(500, 1_000)]);
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

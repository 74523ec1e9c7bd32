//! Where recordings are written: one function opens a recording and returns a sink for
//! interleaved stereo samples, so that a different store (encryption at rest, say) replaces
//! this one in a single place.

use std::path::Path;

use crate::audio::SAMPLE_RATE_HZ;

/// A recording being written: stereo 16-bit samples at 8 kHz, caller left, agent right.
pub trait RecordingSink: Send {
    fn append(&mut self, interleaved: &[i16]) -> Result<(), String>;
    /// Complete the file (a WAV header holds its length).
    fn finish(self: Box<Self>) -> Result<(), String>;
}

/// Open `path` as a new stereo WAV file.
pub fn open_recording(path: &Path) -> Result<Box<dyn RecordingSink>, String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|error| format!("cannot create {}: {error}", parent.display()))?;
    }
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: SAMPLE_RATE_HZ,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let writer = hound::WavWriter::create(path, spec)
        .map_err(|error| format!("cannot create {}: {error}", path.display()))?;
    Ok(Box::new(WavSink {
        writer,
        path: path.display().to_string(),
    }))
}

struct WavSink {
    writer: hound::WavWriter<std::io::BufWriter<std::fs::File>>,
    path: String,
}

impl RecordingSink for WavSink {
    fn append(&mut self, interleaved: &[i16]) -> Result<(), String> {
        let mut samples = self.writer.get_i16_writer(interleaved.len() as u32);
        for sample in interleaved {
            samples.write_sample(*sample);
        }
        samples
            .flush()
            .map_err(|error| format!("cannot write {}: {error}", self.path))
    }

    fn finish(self: Box<Self>) -> Result<(), String> {
        self.writer
            .finalize()
            .map_err(|error| format!("cannot finish {}: {error}", self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recording_reads_back_as_stereo_8_khz() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("calls").join("1.wav");
        let mut sink = open_recording(&path).unwrap();
        sink.append(&[1, -1, 2, -2]).unwrap();
        sink.append(&[3, -3]).unwrap();
        sink.finish().unwrap();
        let mut reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.spec().channels, 2);
        assert_eq!(reader.spec().sample_rate, 8_000);
        let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
        assert_eq!(samples, [1, -1, 2, -2, 3, -3]);
    }
}

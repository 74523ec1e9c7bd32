//! Where recordings are written: one function opens a recording and returns a sink for
//! interleaved stereo samples. A plain recording is a WAV file written with `hound`; a
//! recording that goes through another output (encryption at rest, say) is streamed with
//! [`open_streamed_recording`]: the WAV header goes out first with placeholder sizes, since
//! the output cannot be rewound, and [`complete_streamed_wav`] writes the real sizes once the
//! whole file is known (when it is exported).

use std::io::{Read, Seek, SeekFrom, Write};
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

/// Where a streamed recording's bytes go: written in order, never rewound, and completed
/// once at the end (an encrypting writer seals its last chunk there).
pub trait RecordingOutput: Write + Send {
    fn complete(self: Box<Self>) -> std::io::Result<()>;
}

/// The size fields of a streamed WAV header before the length is known: `0xFFFFFFFF`, which
/// readers that stream (ffmpeg, sox) take as "until the end of the file".
pub const UNKNOWN_WAV_SIZE: u32 = u32::MAX;

/// The canonical 44-byte header of a stereo 16-bit 8 kHz WAV file with `data_bytes` of
/// samples.
fn wav_header(data_bytes: u32) -> [u8; 44] {
    let channels: u16 = 2;
    let bytes_per_frame = channels * 2;
    let mut header = [0u8; 44];
    header[0..4].copy_from_slice(b"RIFF");
    header[4..8].copy_from_slice(&data_bytes.saturating_add(36).to_le_bytes());
    header[8..12].copy_from_slice(b"WAVE");
    header[12..16].copy_from_slice(b"fmt ");
    header[16..20].copy_from_slice(&16u32.to_le_bytes());
    header[20..22].copy_from_slice(&1u16.to_le_bytes()); // PCM
    header[22..24].copy_from_slice(&channels.to_le_bytes());
    header[24..28].copy_from_slice(&SAMPLE_RATE_HZ.to_le_bytes());
    header[28..32].copy_from_slice(&(SAMPLE_RATE_HZ * u32::from(bytes_per_frame)).to_le_bytes());
    header[32..34].copy_from_slice(&bytes_per_frame.to_le_bytes());
    header[34..36].copy_from_slice(&16u16.to_le_bytes());
    header[36..40].copy_from_slice(b"data");
    header[40..44].copy_from_slice(&data_bytes.to_le_bytes());
    header
}

/// A stereo WAV recording streamed into `output`: the header (sizes [`UNKNOWN_WAV_SIZE`])
/// at once, then the samples as they come; memory stays at one append's samples. `label`
/// names the recording in errors.
pub fn open_streamed_recording(
    mut output: Box<dyn RecordingOutput>,
    label: &str,
) -> Result<Box<dyn RecordingSink>, String> {
    output
        .write_all(&wav_header(UNKNOWN_WAV_SIZE))
        .map_err(|error| format!("cannot write {label}: {error}"))?;
    Ok(Box::new(StreamedSink {
        output,
        label: label.to_string(),
        bytes: Vec::new(),
    }))
}

struct StreamedSink {
    output: Box<dyn RecordingOutput>,
    label: String,
    /// The little-endian bytes of one append, kept to reuse its allocation.
    bytes: Vec<u8>,
}

impl RecordingSink for StreamedSink {
    fn append(&mut self, interleaved: &[i16]) -> Result<(), String> {
        self.bytes.clear();
        self.bytes
            .extend(interleaved.iter().flat_map(|sample| sample.to_le_bytes()));
        self.output
            .write_all(&self.bytes)
            .map_err(|error| format!("cannot write {}: {error}", self.label))
    }

    fn finish(self: Box<Self>) -> Result<(), String> {
        let label = self.label;
        self.output
            .complete()
            .map_err(|error| format!("cannot finish {label}: {error}"))
    }
}

/// Write the real RIFF and data sizes into a WAV file streamed by
/// [`open_streamed_recording`] (read back whole, after decryption): `Ok(true)` when they were
/// placeholders, `Ok(false)` when the file is another WAV or not one (left as it is).
pub fn complete_streamed_wav(file: &mut (impl Read + Write + Seek)) -> std::io::Result<bool> {
    let length = file.seek(SeekFrom::End(0))?;
    if length < 44 {
        return Ok(false);
    }
    let mut header = [0u8; 44];
    file.seek(SeekFrom::Start(0))?;
    file.read_exact(&mut header)?;
    if header[..36] != wav_header(UNKNOWN_WAV_SIZE)[..36]
        || &header[36..40] != b"data"
        || header[40..44] != UNKNOWN_WAV_SIZE.to_le_bytes()
    {
        return Ok(false);
    }
    let data_bytes = u32::try_from(length - 44).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "a recording of 4 GiB or more does not fit a WAV header",
        )
    })?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(&wav_header(data_bytes))?;
    file.seek(SeekFrom::End(0))?;
    Ok(true)
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

    /// An output into a shared buffer, to look at what was streamed.
    struct SharedOutput(std::sync::Arc<std::sync::Mutex<Vec<u8>>>, bool);

    impl Write for SharedOutput {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            assert!(!self.1, "written after completion");
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl RecordingOutput for SharedOutput {
        fn complete(mut self: Box<Self>) -> std::io::Result<()> {
            self.1 = true;
            Ok(())
        }
    }

    #[test]
    fn a_streamed_recording_gets_its_sizes_when_completed_and_reads_as_hound_writes() {
        let streamed = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let output = Box::new(SharedOutput(streamed.clone(), false));
        let mut sink = open_streamed_recording(output, "test").unwrap();
        sink.append(&[1, -1, 2, -2]).unwrap();
        sink.append(&[i16::MIN, i16::MAX]).unwrap();
        sink.finish().unwrap();
        let bytes = streamed.lock().unwrap().clone();
        assert_eq!(&bytes[..4], b"RIFF");
        assert_eq!(bytes[40..44], UNKNOWN_WAV_SIZE.to_le_bytes());

        let mut file = std::io::Cursor::new(bytes);
        assert!(complete_streamed_wav(&mut file).unwrap());
        assert!(
            !complete_streamed_wav(&mut file).unwrap(),
            "sizes written once"
        );
        // Byte for byte what hound writes for the same samples.
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("hound.wav");
        let mut reference = open_recording(&path).unwrap();
        reference
            .append(&[1, -1, 2, -2, i16::MIN, i16::MAX])
            .unwrap();
        reference.finish().unwrap();
        assert_eq!(file.into_inner(), std::fs::read(&path).unwrap());
    }

    #[test]
    fn completing_leaves_other_files_alone() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("plain.wav");
        let mut sink = open_recording(&path).unwrap();
        sink.append(&[5, 6]).unwrap();
        sink.finish().unwrap();
        let before = std::fs::read(&path).unwrap();
        let mut file = std::io::Cursor::new(before.clone());
        assert!(!complete_streamed_wav(&mut file).unwrap());
        assert_eq!(file.into_inner(), before);
        let mut text = std::io::Cursor::new(b"not a recording".to_vec());
        assert!(!complete_streamed_wav(&mut text).unwrap());
    }
}

//! G.711 (ITU-T Recommendation G.711, 1988): µ-law (PCMU, payload type 0) and A-law (PCMA,
//! payload type 8), 8,000 samples per second, one byte per sample.
//!
//! Decoding and transcoding are lookups in 256-entry tables built at compile time; encoding is
//! a few integer operations. Silence is the code that decodes to zero.

/// A G.711 variant, as SDP and RTP name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Codec {
    /// µ-law, `PCMU/8000`, static payload type 0.
    Pcmu,
    /// A-law, `PCMA/8000`, static payload type 8.
    Pcma,
}

impl Codec {
    /// The static payload type of RFC 3551.
    pub fn static_payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// The encoding name of an `a=rtpmap` line.
    pub fn encoding_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// The codec an `a=rtpmap` encoding name (case-insensitive) stands for.
    pub fn from_encoding_name(name: &str) -> Option<Codec> {
        if name.eq_ignore_ascii_case("PCMU") {
            Some(Codec::Pcmu)
        } else if name.eq_ignore_ascii_case("PCMA") {
            Some(Codec::Pcma)
        } else {
            None
        }
    }

    /// The code of a zero sample.
    pub fn silence(self) -> u8 {
        match self {
            Codec::Pcmu => 0xFF,
            Codec::Pcma => 0xD5,
        }
    }

    pub fn decode(self, code: u8) -> i16 {
        match self {
            Codec::Pcmu => ULAW_TO_LINEAR[code as usize],
            Codec::Pcma => ALAW_TO_LINEAR[code as usize],
        }
    }

    pub fn encode(self, sample: i16) -> u8 {
        match self {
            Codec::Pcmu => linear_to_ulaw(sample),
            Codec::Pcma => linear_to_alaw(sample),
        }
    }

    /// Decode `codes` into `samples` (the shorter length wins); returns the samples written.
    pub fn decode_into(self, codes: &[u8], samples: &mut [i16]) -> usize {
        let table = match self {
            Codec::Pcmu => &ULAW_TO_LINEAR,
            Codec::Pcma => &ALAW_TO_LINEAR,
        };
        let count = codes.len().min(samples.len());
        for (sample, code) in samples.iter_mut().zip(codes).take(count) {
            *sample = table[*code as usize];
        }
        count
    }

    /// Encode `samples` into `codes` (the shorter length wins); returns the codes written.
    pub fn encode_into(self, samples: &[i16], codes: &mut [u8]) -> usize {
        let count = codes.len().min(samples.len());
        for (code, sample) in codes.iter_mut().zip(samples).take(count) {
            *code = self.encode(*sample);
        }
        count
    }

    /// Rewrite `payload`, encoded in `self`, into `to`, in place (same length: one byte per
    /// sample in both).
    pub fn transcode_in_place(self, to: Codec, payload: &mut [u8]) {
        let table = match (self, to) {
            (Codec::Pcmu, Codec::Pcma) => &ULAW_TO_ALAW,
            (Codec::Pcma, Codec::Pcmu) => &ALAW_TO_ULAW,
            _ => return,
        };
        for code in payload {
            *code = table[*code as usize];
        }
    }
}

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 32_635;

/// µ-law encoding of a 16-bit sample (the classic segment search, as in the ITU's reference).
pub const fn linear_to_ulaw(sample: i16) -> u8 {
    let mut magnitude = sample as i32;
    let sign = if magnitude < 0 {
        magnitude = -magnitude;
        0x80
    } else {
        0
    };
    if magnitude > ULAW_CLIP {
        magnitude = ULAW_CLIP;
    }
    magnitude += ULAW_BIAS;
    // The segment is the position of the highest set bit above bit 7 (0..=7).
    let highest_bit = 31 - magnitude.leading_zeros() as i32;
    let exponent = if highest_bit > 7 { highest_bit - 7 } else { 0 };
    let mantissa = (magnitude >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) | mantissa) as u8
}

pub const fn ulaw_to_linear(code: u8) -> i16 {
    let code = !code;
    let exponent = ((code >> 4) & 0x07) as i32;
    let mantissa = (code & 0x0F) as i32;
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    if code & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// A-law encoding of a 16-bit sample (13-bit magnitude, segment search).
pub const fn linear_to_alaw(sample: i16) -> u8 {
    let mut value = (sample as i32) >> 3;
    let mask = if value >= 0 {
        0xD5
    } else {
        value = -value - 1;
        0x55
    };
    const SEGMENT_ENDS: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];
    let mut segment = 0;
    while segment < 8 && value > SEGMENT_ENDS[segment] {
        segment += 1;
    }
    if segment >= 8 {
        return (0x7F ^ mask) as u8;
    }
    let mut code = (segment as i32) << 4;
    code |= if segment < 2 {
        (value >> 1) & 0x0F
    } else {
        (value >> segment) & 0x0F
    };
    (code ^ mask) as u8
}

pub const fn alaw_to_linear(code: u8) -> i16 {
    let code = (code ^ 0x55) as i32;
    let mut magnitude = (code & 0x0F) << 4;
    let segment = (code & 0x70) >> 4;
    match segment {
        0 => magnitude += 8,
        1 => magnitude += 0x108,
        _ => {
            magnitude += 0x108;
            magnitude <<= segment - 1;
        }
    }
    if code & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

const fn decode_table(alaw: bool) -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut code = 0;
    while code < 256 {
        table[code] = if alaw {
            alaw_to_linear(code as u8)
        } else {
            ulaw_to_linear(code as u8)
        };
        code += 1;
    }
    table
}

const fn transcode_table(from_alaw: bool) -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut code = 0;
    while code < 256 {
        table[code] = if from_alaw {
            linear_to_ulaw(alaw_to_linear(code as u8))
        } else {
            linear_to_alaw(ulaw_to_linear(code as u8))
        };
        code += 1;
    }
    table
}

static ULAW_TO_LINEAR: [i16; 256] = decode_table(false);
static ALAW_TO_LINEAR: [i16; 256] = decode_table(true);
static ULAW_TO_ALAW: [u8; 256] = transcode_table(false);
static ALAW_TO_ULAW: [u8; 256] = transcode_table(true);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reference_values() {
        // Values of the ITU-T G.711 tables (also in every reference implementation).
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x80), 32_124);
        assert_eq!(ulaw_to_linear(0x00), -32_124);
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xAA), 32_256);
        assert_eq!(alaw_to_linear(0x2A), -32_256);
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(Codec::Pcmu.decode(Codec::Pcmu.silence()), 0);
        assert_eq!(Codec::Pcma.decode(Codec::Pcma.silence()), 8);
    }

    #[test]
    fn every_code_survives_decoding_and_encoding() {
        for code in 0..=255u8 {
            assert_eq!(
                linear_to_alaw(alaw_to_linear(code)),
                code,
                "A-law {code:#x}"
            );
            if code != 0x7F {
                // 0x7F is µ-law's negative zero; it decodes to 0, which encodes as 0xFF.
                assert_eq!(
                    linear_to_ulaw(ulaw_to_linear(code)),
                    code,
                    "µ-law {code:#x}"
                );
            }
        }
    }

    #[test]
    fn transcoding_keeps_the_sample_close() {
        for code in 0..=255u8 {
            let linear = ulaw_to_linear(code) as i32;
            let mut payload = [code];
            Codec::Pcmu.transcode_in_place(Codec::Pcma, &mut payload);
            let through_alaw = alaw_to_linear(payload[0]) as i32;
            // Both laws keep a relative error of a few percent, plus a small absolute floor.
            assert!(
                (linear - through_alaw).abs() <= linear.abs() / 16 + 16,
                "{code:#x}: {linear} became {through_alaw}"
            );
        }
    }

    proptest! {
        #[test]
        fn encoding_error_is_within_the_segment_step(sample in any::<i16>()) {
            for codec in [Codec::Pcmu, Codec::Pcma] {
                let decoded = codec.decode(codec.encode(sample)) as i32;
                let clipped = (sample as i32).clamp(-32_124, 32_256);
                // A segment's step is 1/16 of its lower bound: the error is at most half of it
                // (rounding) plus the quantisation floor.
                prop_assert!(
                    (decoded - clipped).abs() <= clipped.abs() / 16 + 32,
                    "{codec:?}: {sample} -> {decoded}"
                );
            }
        }
    }
}

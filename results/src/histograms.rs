//! `histograms/wait-SCOPE.hdr`: the waits of answered contacts of one scope, merged over
//! replications, in milliseconds (HdrHistogram V2 serialization).

use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use hdrhistogram::Histogram;

use crate::scope::Scope;

/// The waits of answered contacts of one scope, merged over replications (milliseconds).
#[derive(Clone, Debug, PartialEq)]
pub struct WaitHistogram {
    pub scope: Scope,
    pub waits_ms: Histogram<u64>,
}

/// The file name of a scope's histogram: `wait-queue_sales.hdr`.
pub fn file_name(scope: &Scope) -> String {
    format!("wait-{}.hdr", scope.file_stem())
}

/// The same counts in a histogram whose layout depends on the counts alone. Auto-resizing
/// histograms record in their header the range they grew to, which depends on the order in
/// which replications were merged (and so on thread timing); written files must not.
pub fn canonical_histogram(histogram: &Histogram<u64>) -> Histogram<u64> {
    let lowest = histogram.low();
    let mut fresh =
        Histogram::<u64>::new_with_bounds(lowest, (2 * lowest).max(2), histogram.sigfig())
            .expect("the bounds of an existing histogram are valid");
    fresh.auto(true);
    fresh
        .add(histogram)
        .expect("an auto-resizing histogram accepts any values");
    fresh
}

impl WaitHistogram {
    /// The file's bytes: the canonical layout of the counts.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        V2Serializer::new()
            .serialize(&canonical_histogram(&self.waits_ms), &mut bytes)
            .expect("serializing into memory does not fail");
        bytes
    }

    /// Reads a file's bytes.
    pub fn from_bytes(scope: Scope, bytes: &[u8]) -> Result<WaitHistogram, String> {
        let waits_ms = Deserializer::new()
            .deserialize(&mut &bytes[..])
            .map_err(|error| format!("not an HdrHistogram: {error:?}"))?;
        Ok(WaitHistogram { scope, waits_ms })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_reads_back_whatever_order_it_was_merged_in() {
        let mut small = Histogram::<u64>::new(3).unwrap();
        small.record(40).unwrap();
        let mut large = Histogram::<u64>::new(3).unwrap();
        large.record(9_000_000).unwrap();
        let mut one = small.clone();
        one.add(&large).unwrap();
        let mut other = large.clone();
        other.add(&small).unwrap();
        let scope = Scope::Total;
        let bytes = |waits_ms: &Histogram<u64>| {
            WaitHistogram {
                scope: scope.clone(),
                waits_ms: waits_ms.clone(),
            }
            .to_bytes()
        };
        assert_eq!(bytes(&one), bytes(&other));
        let read = WaitHistogram::from_bytes(Scope::Total, &bytes(&one)).unwrap();
        assert_eq!(read.waits_ms.len(), 2);
        assert_eq!(
            file_name(&Scope::Queue("sales".into())),
            "wait-queue_sales.hdr"
        );
    }
}

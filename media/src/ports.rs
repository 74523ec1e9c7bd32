//! The RTP ports the switch hands out: even numbers of a configured range (RFC 3550 §11: RTP
//! on an even port, RTCP on the next odd one, which the switch leaves unused).

use std::collections::VecDeque;

/// A bounded pool of even ports. A released port goes to the back of the line, so that late
/// packets of an ended call are not taken for the next call's.
#[derive(Clone, Debug)]
pub struct PortAllocator {
    free: VecDeque<u16>,
    first: u16,
    last: u16,
}

impl PortAllocator {
    /// Every even port in `first..=last`.
    pub fn new(first: u16, last: u16) -> Result<PortAllocator, String> {
        let start = first + first % 2;
        if start > last || first < 1_024 {
            return Err(format!(
                "RTP port range {first}-{last}: expected an even port at 1024 or above and a last port after it"
            ));
        }
        Ok(PortAllocator {
            free: (start..=last).step_by(2).collect(),
            first: start,
            last,
        })
    }

    pub fn allocate(&mut self) -> Option<u16> {
        self.free.pop_front()
    }

    pub fn release(&mut self, port: u16) {
        assert!(
            port >= self.first && port <= self.last && port.is_multiple_of(2),
            "port {port} was not handed out by this allocator"
        );
        debug_assert!(!self.free.contains(&port), "port {port} released twice");
        self.free.push_back(port);
    }

    pub fn available(&self) -> usize {
        self.free.len()
    }

    pub fn capacity(&self) -> usize {
        (self.last as usize - self.first as usize) / 2 + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_even_bounded_and_reused_last() {
        let mut ports = PortAllocator::new(30_001, 30_008).unwrap();
        assert_eq!(ports.capacity(), 4);
        let taken: Vec<u16> = std::iter::from_fn(|| ports.allocate()).collect();
        assert_eq!(taken, [30_002, 30_004, 30_006, 30_008]);
        assert_eq!(ports.allocate(), None, "the range is the bound");
        ports.release(30_004);
        ports.release(30_002);
        assert_eq!(ports.allocate(), Some(30_004));
        assert!(PortAllocator::new(40_000, 30_000).is_err());
    }
}

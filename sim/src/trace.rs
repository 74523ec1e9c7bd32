//! The trace hash and the optional JSONL trace.
//!
//! The hash covers every event of every replication. Each event is first written as a fixed
//! record of five 64-bit words (`encode_event`, documented in `docs/metrics.md`), so the hash
//! depends on what happened and on nothing else: not on a serializer's version, not on the
//! platform (only integer arithmetic of fixed width). The words are then folded into a 64-bit
//! state with 128-bit multiplications, in the manner of wyhash: a few instructions per event,
//! no allocation and no buffering, which keeps the hot loop lean. This is a fingerprint for
//! spotting any change in a run (two different event streams collide with probability about
//! 2^-64), not a defence against someone forging a trace.

use std::io::Write;

use switchboard_engine::{
    AgentState, AuxReason, BlockReason, BotOutcome, Channel, Entry, Event, EventKind, OfferEnd,
    Outcome, Party, TransferTarget,
};

/// Odd 64-bit constants with well-spread bits (wyhash's), one per word of an event record.
const SECRETS: [u64; 5] = [
    0xa076_1d64_78bd_642f,
    0xe703_7ed1_a0b4_28db,
    0x8ebc_6af0_9c88_c6e3,
    0x5899_65cc_7537_4cc3,
    0x1d8e_4e27_c47d_124f,
];

/// Multiplies as 128 bits and folds the halves together: every input bit reaches every
/// output bit.
#[inline(always)]
fn fold_multiply(left: u64, right: u64) -> u64 {
    let product = u128::from(left) * u128::from(right);
    (product as u64) ^ ((product >> 64) as u64)
}

/// The 64-bit digest of one event record.
#[inline(always)]
fn digest(words: [u64; 5]) -> u64 {
    let first = fold_multiply(words[0] ^ SECRETS[0], words[1] ^ SECRETS[1]);
    let second = fold_multiply(words[2] ^ SECRETS[2], words[3] ^ SECRETS[3]);
    // The tag word goes in by xor, so events differing only in their tag or codes always get
    // different digests.
    first ^ second.rotate_left(32) ^ words[4]
}

/// Folds one event's digest into the running state. For a fixed digest this is a bijection of
/// the state (rotation, xor, multiplication by an odd constant), so no event can erase what
/// came before it, and the order of events matters.
#[inline(always)]
fn absorb(state: u64, digest: u64) -> u64 {
    (state.rotate_left(23) ^ digest).wrapping_mul(SECRETS[4])
}

/// Accumulates the hash of an event stream and, when asked, writes it as JSON lines.
pub struct TraceSink {
    state: u64,
    events: u64,
    writer: Option<Box<dyn Write + Send>>,
    replication: u32,
}

impl TraceSink {
    pub fn new(replication: u32, writer: Option<Box<dyn Write + Send>>) -> Self {
        TraceSink {
            // The version of the encoding, so a change of encoding changes every hash.
            state: u64::from_le_bytes(*b"sbtrace2"),
            events: 0,
            writer,
            replication,
        }
    }

    /// Adds one event to the hash (and to the trace file).
    #[inline]
    pub fn record(&mut self, event: &Event) -> std::io::Result<()> {
        self.state = absorb(self.state, digest(encode_event(event)));
        self.events += 1;
        if let Some(writer) = &mut self.writer {
            write_line(writer, self.replication, event)?;
        }
        Ok(())
    }

    pub fn events(&self) -> u64 {
        self.events
    }

    /// The hash of everything recorded; flushes the trace file. The 64-bit state and the
    /// number of events are spread over the 32 bytes the summary expects with BLAKE3 (once
    /// per replication, so its cost does not matter).
    pub fn finish(mut self) -> std::io::Result<[u8; 32]> {
        if let Some(writer) = &mut self.writer {
            writer.flush()?;
        }
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"switchboard-sim events v2");
        hasher.update(&self.state.to_le_bytes());
        hasher.update(&self.events.to_le_bytes());
        Ok(*hasher.finalize().as_bytes())
    }
}

/// One JSON line of the trace file (kept out of `record` so the hashing path stays small).
#[inline(never)]
fn write_line(writer: &mut dyn Write, replication: u32, event: &Event) -> std::io::Result<()> {
    #[derive(serde::Serialize)]
    struct Line<'a> {
        replication: u32,
        #[serde(flatten)]
        event: &'a Event,
    }
    serde_json::to_writer(&mut *writer, &Line { replication, event })?;
    writer.write_all(b"\n")
}

fn channel_code(channel: Channel) -> u8 {
    match channel {
        Channel::Voice => 0,
        Channel::Chat => 1,
        Channel::Email => 2,
        Channel::Callback => 3,
    }
}

fn aux_code(reason: AuxReason) -> u8 {
    match reason {
        AuxReason::Break => 0,
        AuxReason::Meeting => 1,
        AuxReason::Training => 2,
        AuxReason::NoAnswer => 3,
        AuxReason::Other => 4,
    }
}

fn state_code(state: AgentState) -> [u8; 2] {
    match state {
        AgentState::LoggedOut => [0, 0],
        AgentState::Available => [1, 0],
        AgentState::Reserved => [2, 0],
        AgentState::Busy => [3, 0],
        AgentState::WrapUp => [4, 0],
        AgentState::Aux(reason) => [5, aux_code(reason)],
    }
}

fn outcome_code(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Completed => 0,
        Outcome::Abandoned => 1,
        Outcome::Blocked => 2,
        Outcome::TimedOut => 3,
        Outcome::SelfServed => 4,
        Outcome::Transferred => 5,
        Outcome::Dropped => 6,
    }
}

fn offer_end_code(reason: OfferEnd) -> u8 {
    match reason {
        OfferEnd::Declined => 0,
        OfferEnd::NoAnswer => 1,
        OfferEnd::CustomerLeft => 2,
        OfferEnd::AgentLeft => 3,
    }
}

fn block_code(reason: Option<BlockReason>) -> u8 {
    match reason {
        None => 0,
        Some(BlockReason::QueueFull) => 1,
        Some(BlockReason::NoAgents) => 2,
        Some(BlockReason::IvrHangup) => 3,
    }
}

fn party_code(party: Party) -> u8 {
    match party {
        Party::Customer => 0,
        Party::Agent => 1,
    }
}

/// Two 32-bit values in one word, `low` in the low half.
fn pair(low: u32, high: u32) -> u64 {
    u64::from(low) | (u64::from(high) << 32)
}

/// A tag and up to seven one-byte codes in one word, the tag in the lowest byte.
#[inline(always)]
fn codes<const COUNT: usize>(tag: u8, codes: [u8; COUNT]) -> u64 {
    const { assert!(COUNT <= 7, "a word holds a tag and seven codes") };
    let mut bytes = [0; 8];
    bytes[0] = tag;
    bytes[1..=COUNT].copy_from_slice(&codes);
    u64::from_le_bytes(bytes)
}

/// The canonical record of one event: five words, `[time_ms, subject, ids, amount, codes]`.
///
/// - `time_ms`: the event's time;
/// - `subject`: the contact id (the agent index for `AgentStateChanged`);
/// - `ids`: two 32-bit values, low half first (queue, agent, flow, node, step, priority ...);
/// - `amount`: a duration in ms (`wait_ms`, `talk_ms`, `waited_ms`), else 0;
/// - `codes`: the variant's tag in the lowest byte, then its small enums one byte each.
///
/// Unused words are 0; "none" for an optional queue or agent is `u32::MAX`. The table in
/// `docs/metrics.md` lists every variant.
#[inline]
pub fn encode_event(event: &Event) -> [u64; 5] {
    let time_ms = event.time_ms;
    match &event.kind {
        EventKind::ContactArrived {
            contact,
            channel,
            entry,
        } => {
            let (entry_kind, entry_id) = match entry {
                Entry::Queue(queue) => (0, queue.0),
                Entry::Flow(flow) => (1, flow.0),
            };
            [
                time_ms,
                contact.0,
                pair(entry_id, 0),
                0,
                codes(0, [channel_code(*channel), entry_kind]),
            ]
        }
        EventKind::IvrNodeEntered {
            contact,
            flow,
            node,
        } => [time_ms, contact.0, pair(flow.0, node.0), 0, codes(1, [])],
        EventKind::ContactQueued {
            contact,
            queue,
            priority,
            waited_ms,
        } => [
            time_ms,
            contact.0,
            pair(queue.0, *priority as u32),
            *waited_ms,
            codes(2, []),
        ],
        EventKind::ContactRelaxed {
            contact,
            queue,
            step,
        } => [time_ms, contact.0, pair(queue.0, *step), 0, codes(3, [])],
        EventKind::ContactOverflowed { contact, from, to } => {
            [time_ms, contact.0, pair(from.0, to.0), 0, codes(4, [])]
        }
        EventKind::CallbackRequested { contact, queue } => {
            [time_ms, contact.0, pair(queue.0, 0), 0, codes(5, [])]
        }
        EventKind::ContactOffered {
            contact,
            agent,
            queue,
        } => [time_ms, contact.0, pair(agent.0, queue.0), 0, codes(6, [])],
        EventKind::OfferEnded {
            contact,
            agent,
            queue,
            reason,
        } => [
            time_ms,
            contact.0,
            pair(agent.0, queue.0),
            0,
            codes(7, [offer_end_code(*reason)]),
        ],
        EventKind::ContactAnswered {
            contact,
            agent,
            queue,
            channel,
            wait_ms,
        } => [
            time_ms,
            contact.0,
            pair(agent.0, queue.0),
            *wait_ms,
            codes(8, [channel_code(*channel)]),
        ],
        EventKind::ConversationEnded {
            contact,
            agent,
            queue,
            by,
            talk_ms,
        } => [
            time_ms,
            contact.0,
            pair(agent.0, queue.0),
            *talk_ms,
            codes(9, [party_code(*by)]),
        ],
        EventKind::ContactEnded {
            contact,
            outcome,
            channel,
            queue,
            agent,
            wait_ms,
            block_reason,
        } => [
            time_ms,
            contact.0,
            // u32::MAX stands for "none": no queue or agent index gets that high.
            pair(
                agent.map_or(u32::MAX, |agent| agent.0),
                queue.map_or(u32::MAX, |queue| queue.0),
            ),
            *wait_ms,
            codes(
                10,
                [
                    outcome_code(*outcome),
                    channel_code(*channel),
                    block_code(*block_reason),
                ],
            ),
        ],
        EventKind::ContactTransferred {
            contact,
            conversation,
            agent,
            queue,
            target,
        } => {
            let (target_kind, target_id) = match target {
                TransferTarget::Queue(queue) => (0, queue.0),
                TransferTarget::Agent(agent) => (1, agent.0),
            };
            [
                time_ms,
                contact.0,
                pair(agent.0, queue.0),
                conversation.0,
                codes(12, [target_kind]) | u64::from(target_id) << 32,
            ]
        }
        EventKind::BotFinished {
            contact,
            flow,
            node,
            outcome,
            bot_ms,
        } => {
            let outcome_code = match outcome {
                BotOutcome::Contained => 0,
                BotOutcome::Escalated => 1,
            };
            [
                time_ms,
                contact.0,
                pair(flow.0, node.0),
                *bot_ms,
                codes(13, [outcome_code]),
            ]
        }
        // A contact back in its queue with its work kept: pre-empted by a call (14), or left
        // in hand by its agent (16).
        EventKind::ContactPreempted {
            contact,
            agent,
            queue,
            worked_ms,
        }
        | EventKind::ContactReturned {
            contact,
            agent,
            queue,
            worked_ms,
        } => {
            let tag = if matches!(event.kind, EventKind::ContactPreempted { .. }) {
                14
            } else {
                16
            };
            [
                time_ms,
                contact.0,
                pair(agent.0, queue.0),
                *worked_ms,
                codes(tag, []),
            ]
        }
        EventKind::ContactResumed {
            contact,
            agent,
            queue,
        } => [time_ms, contact.0, pair(agent.0, queue.0), 0, codes(15, [])],
        EventKind::AgentStateChanged { agent, from, to } => {
            let [from_state, from_reason] = state_code(*from);
            let [to_state, to_reason] = state_code(*to);
            [
                time_ms,
                u64::from(agent.0),
                0,
                0,
                codes(11, [from_state, from_reason, to_state, to_reason]),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_engine::{AgentId, ContactId, QueueId};

    fn ended(wait_ms: u64) -> Event {
        Event {
            time_ms: 5,
            kind: EventKind::ContactEnded {
                contact: ContactId(1),
                outcome: Outcome::Completed,
                channel: Channel::Voice,
                queue: Some(QueueId(0)),
                agent: Some(AgentId(3)),
                wait_ms,
                block_reason: None,
            },
        }
    }

    fn offered(contact: u64, agent: u32, queue: u32) -> Event {
        Event {
            time_ms: 5,
            kind: EventKind::ContactOffered {
                contact: ContactId(contact),
                agent: AgentId(agent),
                queue: QueueId(queue),
            },
        }
    }

    fn hash(events: &[Event]) -> [u8; 32] {
        let mut sink = TraceSink::new(0, None);
        for event in events {
            sink.record(event).unwrap();
        }
        sink.finish().unwrap()
    }

    #[test]
    fn the_hash_changes_with_any_field_and_repeats_for_the_same_stream() {
        assert_eq!(hash(&[ended(7)]), hash(&[ended(7)]));
        assert_ne!(hash(&[ended(7)]), hash(&[ended(8)]));
        assert_ne!(hash(&[ended(7)]), hash(&[ended(7), ended(7)]));
        assert_ne!(hash(&[offered(1, 2, 3)]), hash(&[offered(1, 3, 2)]));
        assert_ne!(hash(&[offered(1, 2, 3)]), hash(&[offered(2, 2, 3)]));
    }

    #[test]
    fn a_returned_contact_has_its_own_tag_beside_a_preempted_one() {
        let (contact, agent, queue, worked_ms) = (ContactId(4), AgentId(1), QueueId(2), 90_000);
        let preempted = encode_event(&Event {
            time_ms: 5,
            kind: EventKind::ContactPreempted {
                contact,
                agent,
                queue,
                worked_ms,
            },
        });
        let returned = encode_event(&Event {
            time_ms: 5,
            kind: EventKind::ContactReturned {
                contact,
                agent,
                queue,
                worked_ms,
            },
        });
        assert_eq!(
            preempted[..4],
            returned[..4],
            "the same words but the codes"
        );
        assert_eq!((preempted[4] & 0xff, returned[4] & 0xff), (14, 16));
    }

    #[test]
    fn the_order_of_events_matters() {
        let (first, second) = (offered(1, 2, 3), offered(4, 5, 6));
        assert_ne!(
            hash(&[first.clone(), second.clone()]),
            hash(&[second, first])
        );
    }

    #[test]
    fn every_bit_of_every_word_reaches_the_digest() {
        let words = encode_event(&ended(7));
        let base = digest(words);
        for word in 0..words.len() {
            for bit in 0..64 {
                let mut changed = words;
                changed[word] ^= 1 << bit;
                assert_ne!(digest(changed), base, "word {word}, bit {bit}");
            }
        }
    }

    #[test]
    fn variants_that_share_fields_encode_differently() {
        let relaxed = Event {
            time_ms: 5,
            kind: EventKind::ContactRelaxed {
                contact: ContactId(1),
                queue: QueueId(2),
                step: 3,
            },
        };
        let overflowed = Event {
            time_ms: 5,
            kind: EventKind::ContactOverflowed {
                contact: ContactId(1),
                from: QueueId(2),
                to: QueueId(3),
            },
        };
        assert_eq!(encode_event(&relaxed)[..4], encode_event(&overflowed)[..4]);
        assert_ne!(encode_event(&relaxed), encode_event(&overflowed));
        assert_ne!(hash(&[relaxed]), hash(&[overflowed]));
    }

    /// The hash is defined by the encoding and the folding above, on every platform; this
    /// value changes only when one of them is changed on purpose (and `docs/metrics.md` with it).
    #[test]
    fn the_hash_of_a_fixed_stream_is_pinned() {
        let stream = [ended(7), offered(1, 2, 3), ended(0)];
        let hex: String = hash(&stream)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        assert_eq!(
            hex,
            "6cc87e123a327808de9566bc7ab278a4deb928a7c39e2383513b75a30ac7914d"
        );
    }
}

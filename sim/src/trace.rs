//! The trace hash and the optional JSONL trace.
//!
//! The hash covers every event of every replication in a canonical binary form written here
//! field by field (little-endian integers, one tag byte per enum), so it depends on what
//! happened and on nothing else: not on a serializer's version, not on the platform. Building
//! it costs no allocation per event, which keeps the hot loop lean.

use std::io::Write;

use switchboard_engine::{
    AgentState, AuxReason, BlockReason, Channel, Entry, Event, EventKind, OfferEnd, Outcome, Party,
};

/// Bytes gathered before they are handed to the hasher (large blocks hash fastest).
const HASH_BLOCK_BYTES: usize = 64 * 1024;

/// Accumulates the hash of an event stream and, when asked, writes it as JSON lines.
pub struct TraceSink {
    hasher: blake3::Hasher,
    pending: Vec<u8>,
    events: u64,
    writer: Option<Box<dyn Write + Send>>,
    replication: u32,
}

impl TraceSink {
    pub fn new(replication: u32, writer: Option<Box<dyn Write + Send>>) -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"switchboard-sim events v1");
        TraceSink {
            hasher,
            pending: Vec::with_capacity(HASH_BLOCK_BYTES + 256),
            events: 0,
            writer,
            replication,
        }
    }

    /// Adds one event to the hash (and to the trace file).
    pub fn record(&mut self, event: &Event) -> std::io::Result<()> {
        encode_event(event, &mut self.pending);
        self.events += 1;
        if self.pending.len() >= HASH_BLOCK_BYTES {
            self.hasher.update(&self.pending);
            self.pending.clear();
        }
        if let Some(writer) = &mut self.writer {
            #[derive(serde::Serialize)]
            struct Line<'a> {
                replication: u32,
                #[serde(flatten)]
                event: &'a Event,
            }
            serde_json::to_writer(
                &mut *writer,
                &Line {
                    replication: self.replication,
                    event,
                },
            )?;
            writer.write_all(b"\n")?;
        }
        Ok(())
    }

    pub fn events(&self) -> u64 {
        self.events
    }

    /// The hash of everything recorded; flushes the trace file.
    pub fn finish(mut self) -> std::io::Result<[u8; 32]> {
        self.hasher.update(&self.pending);
        self.hasher.update(&self.events.to_le_bytes());
        if let Some(writer) = &mut self.writer {
            writer.flush()?;
        }
        Ok(*self.hasher.finalize().as_bytes())
    }
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

/// Appends the canonical bytes of one event.
pub fn encode_event(event: &Event, out: &mut Vec<u8>) {
    fn u32s(out: &mut Vec<u8>, values: &[u32]) {
        for value in values {
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
    out.extend_from_slice(&event.time_ms.to_le_bytes());
    match &event.kind {
        EventKind::ContactArrived {
            contact,
            channel,
            entry,
        } => {
            out.push(0);
            out.extend_from_slice(&contact.0.to_le_bytes());
            out.push(channel_code(*channel));
            match entry {
                Entry::Queue(queue) => {
                    out.push(0);
                    u32s(out, &[queue.0]);
                }
                Entry::Flow(flow) => {
                    out.push(1);
                    u32s(out, &[flow.0]);
                }
            }
        }
        EventKind::IvrNodeEntered {
            contact,
            flow,
            node,
        } => {
            out.push(1);
            out.extend_from_slice(&contact.0.to_le_bytes());
            u32s(out, &[flow.0, node.0]);
        }
        EventKind::ContactQueued {
            contact,
            queue,
            priority,
            waited_ms,
        } => {
            out.push(2);
            out.extend_from_slice(&contact.0.to_le_bytes());
            u32s(out, &[queue.0]);
            out.extend_from_slice(&priority.to_le_bytes());
            out.extend_from_slice(&waited_ms.to_le_bytes());
        }
        EventKind::ContactRelaxed {
            contact,
            queue,
            step,
        } => {
            out.push(3);
            out.extend_from_slice(&contact.0.to_le_bytes());
            u32s(out, &[queue.0, *step]);
        }
        EventKind::ContactOverflowed { contact, from, to } => {
            out.push(4);
            out.extend_from_slice(&contact.0.to_le_bytes());
            u32s(out, &[from.0, to.0]);
        }
        EventKind::CallbackRequested { contact, queue } => {
            out.push(5);
            out.extend_from_slice(&contact.0.to_le_bytes());
            u32s(out, &[queue.0]);
        }
        EventKind::ContactOffered {
            contact,
            agent,
            queue,
        } => {
            out.push(6);
            out.extend_from_slice(&contact.0.to_le_bytes());
            u32s(out, &[agent.0, queue.0]);
        }
        EventKind::OfferEnded {
            contact,
            agent,
            queue,
            reason,
        } => {
            out.push(7);
            out.extend_from_slice(&contact.0.to_le_bytes());
            u32s(out, &[agent.0, queue.0]);
            out.push(offer_end_code(*reason));
        }
        EventKind::ContactAnswered {
            contact,
            agent,
            queue,
            channel,
            wait_ms,
        } => {
            out.push(8);
            out.extend_from_slice(&contact.0.to_le_bytes());
            u32s(out, &[agent.0, queue.0]);
            out.push(channel_code(*channel));
            out.extend_from_slice(&wait_ms.to_le_bytes());
        }
        EventKind::ConversationEnded {
            contact,
            agent,
            queue,
            by,
            talk_ms,
        } => {
            out.push(9);
            out.extend_from_slice(&contact.0.to_le_bytes());
            u32s(out, &[agent.0, queue.0]);
            out.push(match by {
                Party::Customer => 0,
                Party::Agent => 1,
            });
            out.extend_from_slice(&talk_ms.to_le_bytes());
        }
        EventKind::ContactEnded {
            contact,
            outcome,
            channel,
            queue,
            agent,
            wait_ms,
            block_reason,
        } => {
            out.push(10);
            out.extend_from_slice(&contact.0.to_le_bytes());
            out.push(outcome_code(*outcome));
            out.push(channel_code(*channel));
            // u32::MAX stands for "none": no queue or agent index gets that high.
            u32s(
                out,
                &[
                    queue.map_or(u32::MAX, |q| q.0),
                    agent.map_or(u32::MAX, |a| a.0),
                ],
            );
            out.extend_from_slice(&wait_ms.to_le_bytes());
            out.push(block_code(*block_reason));
        }
        EventKind::AgentStateChanged { agent, from, to } => {
            out.push(11);
            u32s(out, &[agent.0]);
            out.extend_from_slice(&state_code(*from));
            out.extend_from_slice(&state_code(*to));
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

    #[test]
    fn the_hash_changes_with_any_field_and_repeats_for_the_same_stream() {
        let hash = |events: &[Event]| {
            let mut sink = TraceSink::new(0, None);
            for event in events {
                sink.record(event).unwrap();
            }
            sink.finish().unwrap()
        };
        assert_eq!(hash(&[ended(7)]), hash(&[ended(7)]));
        assert_ne!(hash(&[ended(7)]), hash(&[ended(8)]));
        assert_ne!(hash(&[ended(7)]), hash(&[ended(7), ended(7)]));
    }
}

//! Callback requests replicated to the other sites (`[live.failover] replication`,
//! `with_callback_replication`): each request goes out through
//! [`Switch::poll_callback_change`] when it is made and again when it ends, for the driver to
//! write to etcd (`switchboard_failover_live::replication`); the driver says when etcd has it
//! ([`Switch::callback_replicated`]); and [`Switch::take_over_callbacks`] queues requests the
//! driver claimed from a site that lost its lease.
//!
//! Synchronous replication confirms a request to its caller (the 480 that hangs the line up
//! until the call back) only once etcd's quorum has it; asynchronous confirms it at once. The
//! requests confirmed and not yet in etcd are the site's recovery point, counted by
//! `switchboard_callbacks_unreplicated` and the age of the oldest.
//!
//! The switch stays sans-IO: it says what changed, the driver writes it. A request is
//! replicated under its caller's Call-ID, which every site's CDR keeps too: the takeover's row
//! has the Call-ID of the call that asked, so a request has one CDR whichever site ends it.

use std::collections::BTreeMap;

use switchboard_engine::{Channel, ContactId, Entry, Input, QueueId};

use super::callback::{Callback, CALLER_RELEASED_STATUS};
use super::{Body, Call, CallerLeg, Switch};
pub use crate::api::ReplicatedCallback;
use crate::call_record::CallRecord;
use crate::config::Replication;
use crate::dialog::Dialog;
use crate::sip::message::{Headers, Method, Request};
use crate::sip::transaction::TransactionId;

/// What the driver must write to etcd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallbackChange {
    /// A new request: write it, then tell [`Switch::callback_replicated`].
    Requested(ReplicatedCallback),
    /// The request ended (called back, failed, abandoned before its confirmation): delete it.
    Ended { call_id: String },
}

/// The switch's side of replication.
#[derive(Debug)]
pub(super) struct CallbackReplication {
    mode: Replication,
    changes: std::collections::VecDeque<CallbackChange>,
    /// Requests made here and not in etcd yet: Call-ID → (contact, switch time of request).
    unreplicated: BTreeMap<String, (ContactId, u64)>,
    /// Requests this site holds in etcd, by contact: their Call-ID.
    held: BTreeMap<ContactId, String>,
}

impl Switch {
    /// Replicate callback requests as `mode` says (see the module documentation).
    pub fn with_callback_replication(mut self, mode: Replication) -> Self {
        self.callback_replication = Some(CallbackReplication {
            mode,
            changes: std::collections::VecDeque::new(),
            unreplicated: BTreeMap::new(),
            held: BTreeMap::new(),
        });
        self
    }

    /// Whether a callback request waits for etcd before its caller is told.
    pub(super) fn confirms_after_replication(&self) -> bool {
        self.callback_replication
            .as_ref()
            .is_some_and(|replication| replication.mode == Replication::Sync)
    }

    /// The next change for etcd, in the order the switch made them.
    pub fn poll_callback_change(&mut self) -> Option<CallbackChange> {
        self.callback_replication.as_mut()?.changes.pop_front()
    }

    /// The engine made `contact` a callback request in `queue` (and `callback_requested` took
    /// it up): hand it to the driver.
    pub(super) fn replicate_callback_request(&mut self, contact: ContactId, queue: QueueId) {
        if self.callback_replication.is_none() {
            return;
        }
        let Some(call) = self.calls.get(&contact) else {
            return;
        };
        let Some(callback) = call.callback.as_ref() else {
            return; // it cannot be called back: the caller stays on the line
        };
        let row = call.record.row();
        let request = ReplicatedCallback {
            call_id: row.call_id.clone(),
            queue: self.center.queue_name(queue).to_string(),
            number: callback.number().to_string(),
            trunk: self.trunks.trunk_name(callback.trunk()).to_string(),
            caller: row.caller.clone(),
            entry_point: row.entry_point.clone(),
            arrived_unix_ms: row.arrived_unix_ms,
            requested_unix_ms: self.unix_ms(self.now_ms),
            recorded: false,
            taken_over_from: Vec::new(),
        };
        let now_ms = self.now_ms;
        let replication = self.callback_replication.as_mut().expect("checked above");
        replication
            .unreplicated
            .insert(request.call_id.clone(), (contact, now_ms));
        replication.held.insert(contact, request.call_id.clone());
        replication
            .changes
            .push_back(CallbackChange::Requested(request));
        self.update_unreplicated_gauges();
    }

    /// etcd has the request `call_id`: under synchronous replication its caller is told now.
    pub fn callback_replicated(&mut self, call_id: &str) {
        let Some(replication) = self.callback_replication.as_mut() else {
            return;
        };
        let Some((contact, _)) = replication.unreplicated.remove(call_id) else {
            return;
        };
        let mode = replication.mode;
        self.metrics.callbacks_replicated.inc();
        self.update_unreplicated_gauges();
        let caller_waiting = self
            .calls
            .get(&contact)
            .is_some_and(|call| call.caller.final_status.is_none() && !call.caller.gone);
        if mode == Replication::Sync && caller_waiting {
            self.answer_caller(contact, CALLER_RELEASED_STATUS);
        }
    }

    /// The contact ends (its CDR is being written): a request it was ends with it.
    pub(super) fn callback_request_ended(&mut self, contact: ContactId) {
        let Some(replication) = self.callback_replication.as_mut() else {
            return;
        };
        let Some(call_id) = replication.held.remove(&contact) else {
            return;
        };
        replication.unreplicated.remove(&call_id);
        replication
            .changes
            .push_back(CallbackChange::Ended { call_id });
        self.update_unreplicated_gauges();
    }

    /// Requests held in etcd and not being served: they stay in etcd when the site stops or
    /// is fenced, for whichever site holds a lease next, so the switch forgets them without a
    /// CDR (the site that serves them writes it).
    pub(super) fn forget_waiting_callback_requests(&mut self) -> usize {
        let Some(replication) = self.callback_replication.as_ref() else {
            return 0;
        };
        let waiting: Vec<ContactId> = replication
            .held
            .iter()
            .filter(|(_, call_id)| !replication.unreplicated.contains_key(*call_id))
            .map(|(contact, _)| *contact)
            .filter(|contact| {
                self.calls
                    .get(contact)
                    .and_then(|call| call.callback.as_ref())
                    .is_some_and(|callback| !callback.is_placed())
            })
            .collect();
        for &contact in &waiting {
            if let Some(replication) = self.callback_replication.as_mut() {
                replication.held.remove(&contact);
            }
            // Out of the engine without an outcome of its own: the request is not over.
            if let Err(error) = self
                .center
                .handle(self.now_ms, Input::ContactDropped { contact })
            {
                tracing::debug!(%error, contact = contact.0, "request not in the engine");
            }
            if let Some(call) = self.calls.remove(&contact) {
                self.by_caller_call_id.remove(call.caller.invite.call_id());
            }
            if let Some(media) = &mut self.media {
                media.close(contact);
            }
        }
        // The engine's outputs about them (the drop's events) concern contacts gone.
        while self.center.poll_output().is_some() {}
        waiting.len()
    }

    /// Queue requests claimed in etcd from `from_site` (a site whose lease is gone, or this
    /// site's own earlier life): each waits in its queue as a callback, through the engine,
    /// with its number, trunk and arrival time. A request whose Call-ID is here already is
    /// skipped (never queued twice). Returns how many were queued; a request the center cannot
    /// take (a queue or trunk gone) is named in the error and the rest are still queued.
    pub fn take_over_callbacks(
        &mut self,
        requests: Vec<ReplicatedCallback>,
        from_site: &str,
    ) -> Result<usize, String> {
        let mut queued = 0;
        let mut problems = Vec::new();
        for request in requests {
            if self.by_caller_call_id.contains_key(&request.call_id) {
                continue;
            }
            match self.take_over_callback(request, from_site) {
                Ok(()) => queued += 1,
                Err(problem) => problems.push(problem),
            }
        }
        self.metrics.callbacks_taken_over.inc_by(queued as u64);
        if problems.is_empty() {
            Ok(queued)
        } else {
            Err(problems.join("; "))
        }
    }

    fn take_over_callback(
        &mut self,
        request: ReplicatedCallback,
        from_site: &str,
    ) -> Result<(), String> {
        let call_id = request.call_id.clone();
        let queue = self
            .center
            .queue_id(&request.queue)
            .ok_or_else(|| format!("callback {call_id}: no queue {:?} here", request.queue))?;
        let trunk = self
            .trunks
            .trunk_named(&request.trunk)
            .ok_or_else(|| format!("callback {call_id}: no trunk {:?} here", request.trunk))?;
        let contact = ContactId(self.next_contact);
        self.next_contact += 1;
        let mut record = CallRecord::new(
            &call_id,
            contact.0,
            &request.entry_point,
            request.arrived_unix_ms,
        );
        record.set_caller(request.caller.clone());
        // The caller's leg ended at the site that confirmed the request; this one has only
        // its name, for the CDR and for never queueing the request twice.
        let mut headers = Headers::default();
        headers.push("Call-ID", call_id.clone());
        headers.push("From", format!("<sip:{}@callback.invalid>", request.number));
        headers.push(
            "To",
            format!("<sip:{}@callback.invalid>", request.entry_point),
        );
        let invite = Request {
            method: Method::Invite,
            uri: format!("sip:{}@callback.invalid", request.entry_point),
            headers,
            body: Vec::new(),
        };
        let gone_address = std::net::SocketAddr::from(([0, 0, 0, 0], 0));
        let call = Call {
            caller: CallerLeg {
                // No transaction: nothing is ever sent on this leg.
                invite_transaction: TransactionId(u64::MAX - contact.0),
                dialog: Dialog::as_server(&invite, self.new_identifier(), gone_address),
                offer: Body::default(),
                invite,
                ringing_sent: true,
                final_status: Some(CALLER_RELEASED_STATUS),
                gone: true,
            },
            agent_call_id: None,
            answered: false,
            record,
            next_probe_ms: None,
            recording: None,
            secure_since_ms: None,
            callback: Some(Callback::taken_over(
                request.number.clone(),
                trunk,
                request.recorded,
                request.taken_over_from.clone(),
            )),
            digit_entry: None,
        };
        self.calls.insert(contact, Box::new(call));
        self.by_caller_call_id.insert(call_id.clone(), contact);
        let arrived = self.center.handle(
            self.now_ms,
            Input::ContactArrived {
                contact,
                channel: Channel::Callback,
                entry: Entry::Queue(queue),
                attributes: vec![
                    ("entry_point".to_string(), request.entry_point.clone()),
                    ("taken_over_from".to_string(), from_site.to_string()),
                ],
            },
        );
        if let Err(error) = arrived {
            self.calls.remove(&contact);
            self.by_caller_call_id.remove(&call_id);
            return Err(format!(
                "callback {call_id}: the engine refused it: {error}"
            ));
        }
        if let Some(replication) = self.callback_replication.as_mut() {
            replication.held.insert(contact, call_id.clone());
        }
        tracing::info!(
            contact = contact.0,
            call_id = %call_id,
            from_site,
            requested_unix_ms = request.requested_unix_ms,
            "callback request taken over"
        );
        self.drain_engine();
        Ok(())
    }

    /// The RPO gauges: requests not in etcd, and the age of the oldest.
    pub(super) fn update_unreplicated_gauges(&mut self) {
        let Some(replication) = self.callback_replication.as_ref() else {
            return;
        };
        let oldest_ms = replication
            .unreplicated
            .values()
            .map(|(_, requested_ms)| *requested_ms)
            .min()
            .map_or(0, |requested_ms| self.now_ms.saturating_sub(requested_ms));
        self.metrics
            .callbacks_unreplicated
            .set(replication.unreplicated.len() as i64);
        self.metrics
            .callbacks_unreplicated_oldest_ms
            .set(oldest_ms as i64);
    }
}

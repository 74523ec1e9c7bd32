//! Recording of calls and the secure pause, as the switch decides them: which calls are
//! recorded (`[live.recording]`, the API), when an IVR `collect` node marked `secure` hides the
//! caller's keys and voice, and the CDR's `recording` and `recording_paused_ms` columns. The
//! media driver does the writing; the switch only names the file and keeps the spans it
//! commanded, on the same clock as the driver's, so the CDR is complete when the call ends.
//! Each command carries the switch's time, and the driver places the pause there, so the file
//! is silent over exactly the spans the CDR names.

use std::path::PathBuf;

use switchboard_engine::config::IvrNodeConfig;
use switchboard_engine::{ContactId, EventKind, FlowId, NodeId};

use super::Switch;
use crate::api::{CommandError, RecordingView, Reply};
use crate::cdr::CdrRecord;

/// One call's recording, from the switch's side.
#[derive(Clone, Debug)]
pub(super) struct CallRecording {
    /// The file's name in the recordings folder.
    file_name: String,
    started_ms: u64,
    /// Set once stopped: a call is recorded at most once.
    stopped_ms: Option<u64>,
    /// Secure pauses in ms from `started_ms`.
    paused_spans_ms: Vec<(u64, u64)>,
}

/// Why the API could not turn a call's recording on or off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordingRefusal {
    UnknownCall,
    /// The server records nothing: no anchored media or no recordings folder.
    NotAvailable,
    /// The call's recording was stopped; a call is recorded once.
    AlreadyStopped,
}

impl Switch {
    /// Record calls into `folder` (created by the caller); without it nothing is recorded.
    pub fn with_recordings(mut self, folder: PathBuf) -> Self {
        self.recordings_folder = Some(folder);
        self
    }

    /// The engine event's consequences for recording and the secure pause.
    pub(super) fn recording_on_event(&mut self, kind: &EventKind) {
        match kind {
            EventKind::ContactArrived { contact, .. } if self.live.recording.all_calls => {
                let _ = self.start_recording(*contact);
            }
            EventKind::IvrNodeEntered {
                contact,
                flow,
                node,
            } => {
                let secure = self.is_secure_node(*flow, *node);
                self.set_secure(*contact, secure);
            }
            EventKind::ContactQueued { contact, queue, .. } => {
                self.set_secure(*contact, false);
                let name = self.center.queue_name(*queue);
                if self
                    .live
                    .recording
                    .queues
                    .iter()
                    .any(|listed| listed == name)
                {
                    let _ = self.start_recording(*contact);
                }
            }
            _ => {}
        }
    }

    fn is_secure_node(&self, flow: FlowId, node: NodeId) -> bool {
        matches!(
            self.center.ivr_node(flow, node),
            IvrNodeConfig::Collect { secure: true, .. }
        )
    }

    /// Start recording the call now; nothing when it is recorded already.
    pub(super) fn start_recording(&mut self, contact: ContactId) -> Result<(), RecordingRefusal> {
        if self.recordings_folder.is_none() || self.media.is_none() {
            return Err(RecordingRefusal::NotAvailable);
        }
        if !self.calls.contains_key(&contact) {
            return Err(RecordingRefusal::UnknownCall);
        }
        if self.record_callback_when_placed(contact) {
            // The caller's leg is gone and the call back has no media yet.
            return Ok(());
        }
        let (Some(folder), Some(media)) = (&self.recordings_folder, &mut self.media) else {
            return Err(RecordingRefusal::NotAvailable);
        };
        let call = self
            .calls
            .get_mut(&contact)
            .ok_or(RecordingRefusal::UnknownCall)?;
        match &call.recording {
            Some(recording) if recording.stopped_ms.is_some() => {
                return Err(RecordingRefusal::AlreadyStopped)
            }
            Some(_) => return Ok(()),
            None => {}
        }
        // The run's prefix keeps names unique across restarts (contact ids start at 1 again);
        // the name says whether the file is encrypted, so the CDR's column says it too.
        // A call back's file is its own: the caller's leg before the request may have one.
        let suffix = if call.callback.is_some() {
            "-callback"
        } else {
            ""
        };
        let file_name = crate::recording_store::recording_file_name(
            &format!("{}-{}{suffix}", self.identifier_prefix, contact.0),
            self.live.compliance.recording_key_file.is_some(),
        );
        media.start_recording(contact, folder.join(&file_name), self.now_ms);
        call.recording = Some(CallRecording {
            file_name,
            started_ms: self.now_ms,
            stopped_ms: None,
            paused_spans_ms: Vec::new(),
        });
        tracing::info!(contact = contact.0, "recording started");
        Ok(())
    }

    /// Stop the call's recording (its file completes); nothing when it is not being recorded.
    pub(super) fn stop_recording(&mut self, contact: ContactId) -> Result<(), RecordingRefusal> {
        let now_ms = self.now_ms;
        let call = self
            .calls
            .get_mut(&contact)
            .ok_or(RecordingRefusal::UnknownCall)?;
        let Some(recording) = call
            .recording
            .as_mut()
            .filter(|recording| recording.stopped_ms.is_none())
        else {
            return Ok(());
        };
        if let Some(since_ms) = call.secure_since_ms {
            recording.pause(since_ms, now_ms);
        }
        recording.stopped_ms = Some(now_ms);
        if let Some(media) = &mut self.media {
            media.stop_recording(contact, now_ms);
        }
        tracing::info!(contact = contact.0, "recording stopped");
        Ok(())
    }

    /// Secure entry on or off; a span that ends goes into the recording's pauses.
    fn set_secure(&mut self, contact: ContactId, on: bool) {
        let now_ms = self.now_ms;
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        if call.secure_since_ms.is_some() == on {
            return;
        }
        if on {
            call.secure_since_ms = Some(now_ms);
        } else if let Some(since_ms) = call.secure_since_ms.take() {
            if let Some(recording) = call
                .recording
                .as_mut()
                .filter(|recording| recording.stopped_ms.is_none())
            {
                recording.pause(since_ms, now_ms);
            }
        }
        if let Some(media) = &mut self.media {
            media.secure(contact, on, now_ms);
        }
    }

    /// `POST /calls/{contact}/recording`: turn the call's recording on or off.
    pub(super) fn switch_recording(
        &mut self,
        contact: &str,
        on: bool,
    ) -> Result<Reply, CommandError> {
        let unknown = || CommandError::UnknownContact(contact.to_string());
        let id = ContactId(contact.parse().map_err(|_| unknown())?);
        let changed = if on {
            self.start_recording(id)
        } else {
            self.stop_recording(id)
        };
        changed.map_err(|refusal| match refusal {
            RecordingRefusal::UnknownCall => unknown(),
            RecordingRefusal::NotAvailable => CommandError::Refused(
                "this server records no calls: [live.media] anchor is off".into(),
            ),
            RecordingRefusal::AlreadyStopped => CommandError::Refused(
                "the call's recording was stopped: a call is recorded once".into(),
            ),
        })?;
        let recording = self.calls.get(&id).and_then(|call| call.recording.as_ref());
        Ok(Reply::Recording(RecordingView {
            contact_id: id.0,
            on: recording.is_some_and(|recording| recording.stopped_ms.is_none()),
            recording: recording.map(|recording| recording.file_name.clone()),
        }))
    }

    /// The call ends: its recording stops and the CDR row names it and its pauses.
    pub(super) fn recording_columns(&mut self, contact: ContactId, row: &mut CdrRecord) {
        self.set_secure(contact, false);
        let _ = self.stop_recording(contact);
        let Some(recording) = self
            .calls
            .get(&contact)
            .and_then(|call| call.recording.as_ref())
        else {
            return;
        };
        row.recording = Some(recording.file_name.clone());
        row.recording_paused_ms = recording.paused_column();
    }
}

impl CallRecording {
    /// A secure span from `since_ms` to `until_ms` (switch time), clipped to the recording.
    fn pause(&mut self, since_ms: u64, until_ms: u64) {
        let start_ms = since_ms.max(self.started_ms) - self.started_ms;
        let end_ms = until_ms.saturating_sub(self.started_ms);
        if end_ms > start_ms {
            self.paused_spans_ms.push((start_ms, end_ms));
        }
    }

    fn paused_column(&self) -> Option<String> {
        if self.paused_spans_ms.is_empty() {
            return None;
        }
        let spans: Vec<String> = self
            .paused_spans_ms
            .iter()
            .map(|(start_ms, end_ms)| format!("{start_ms}-{end_ms}"))
            .collect();
        Some(spans.join(";"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_are_clipped_to_the_recording_and_joined_for_the_cdr() {
        let mut recording = CallRecording {
            file_name: "a-1.wav".into(),
            started_ms: 10_000,
            stopped_ms: None,
            paused_spans_ms: Vec::new(),
        };
        assert_eq!(recording.paused_column(), None);
        recording.pause(4_000, 12_000); // secure before recording started
        recording.pause(19_000, 21_500);
        recording.pause(3_000, 9_000); // over before recording started: no span
        assert_eq!(
            recording.paused_column().as_deref(),
            Some("0-2000;9000-11500")
        );
    }
}

//! Callback requests kept in etcd, and the survivor's takeover of a lost site's requests.
//!
//! Each request a site's switch makes is written under `switchboard/callbacks/SITE/CALL-ID`
//! (`etcdctl get --prefix switchboard/callbacks/`), its value the request as the switch gives
//! it (`ReplicatedCallback`, JSON) and the owner that wrote it; the key is deleted when the
//! request ends (called back, failed, abandoned). The keys are NOT attached to the site's
//! lease: a lease that expires with its site leaves its requests for another site to claim.
//!
//! Writes are etcd transactions: a request is created only where no key is (so a retried
//! write never overwrites a claim), and a claim compares the key's `mod_revision` with the one
//! it read before it moves the key under the claiming site, so exactly one site owns a
//! request at any time, whatever the sites race.
//!
//! Claims: while its fence is open, a site looks (every sixth of its lease) for requests held
//! by a site whose lease key `switchboard/sites/SITE` is gone, and for its own requests written
//! by an earlier life (a process killed and started again, or a fence raised meanwhile: the
//! switch forgets its waiting requests when fenced, since another site may claim them). It
//! claims them and hands them to its switch, which queues them through the engine.
//!
//! What it never does: decide for the cluster (etcd does, by Raft) or route: the switch does.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchboard_live::api::Command;
use switchboard_live::config::Replication;
use switchboard_live::outbound_http::{Client, Target};
use switchboard_live::runtime::SwitchHandle;
use switchboard_live::switch::{CallbackChange, ReplicatedCallback};
use tokio::sync::{mpsc, watch};

use crate::gateway::{ask, base64_of, number_of, text_of};
use crate::lease::Fence;

/// Changes waiting for etcd at most. The switch's loop never waits on etcd: beyond this the
/// change is refused and logged (a request under `sync` then stays unconfirmed).
pub const CHANGE_QUEUE: usize = 65_536;

/// The prefix of every site's callback requests.
pub const CALLBACKS_PREFIX: &str = "switchboard/callbacks/";
/// The prefix of the sites' lease keys (`lease`).
pub const SITES_PREFIX: &str = "switchboard/sites/";

/// Where the requests are kept and how the site confirms them.
#[derive(Clone, Debug)]
pub struct ReplicationOptions {
    /// The site's name: its requests are under `switchboard/callbacks/SITE/`.
    pub site: String,
    /// The site's own etcd member (`http://HOST:PORT`).
    pub endpoint: String,
    /// How often the site looks for requests to claim.
    pub claim_every: Duration,
    pub mode: Replication,
}

/// A request as etcd keeps it: the request, and who wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRequest {
    /// The process and fence opening that wrote it (`PROCESS.OPENING`): a site claims its
    /// own requests back when they were written by another life.
    pub owner: String,
    pub request: ReplicatedCallback,
}

/// One request key as read from etcd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredKey {
    pub site: String,
    pub call_id: String,
    pub mod_revision: i64,
    pub stored: StoredRequest,
}

/// The etcd key of `site`'s request `call_id`.
pub fn request_key(site: &str, call_id: &str) -> String {
    format!("{CALLBACKS_PREFIX}{site}/{call_id}")
}

/// The site and Call-ID a request key names, if it is one.
pub fn parse_request_key(key: &str) -> Option<(&str, &str)> {
    key.strip_prefix(CALLBACKS_PREFIX)?.split_once('/')
}

/// A site's etcd member through its JSON gateway.
#[derive(Clone)]
pub struct Etcd {
    range: std::sync::Arc<Client>,
    transaction: std::sync::Arc<Client>,
}

/// The key just past every key that starts with `prefix` (etcd's `range_end` of a prefix).
fn prefix_end(prefix: &str) -> String {
    let mut bytes = prefix.as_bytes().to_vec();
    let last = bytes.last_mut().expect("a prefix is not empty");
    *last += 1;
    String::from_utf8(bytes).expect("the prefixes are ASCII")
}

impl Etcd {
    /// `endpoint` is checked with the configuration (`[live.failover] etcd`).
    pub fn new(endpoint: &str, timeout: Duration) -> Result<Etcd, String> {
        let client = |path: &str| -> Result<std::sync::Arc<Client>, String> {
            let endpoint = endpoint.trim_end_matches('/');
            let target = Target::parse(&format!("{endpoint}{path}"))?;
            Ok(std::sync::Arc::new(Client::new(target, None, timeout)?))
        };
        Ok(Etcd {
            range: client("/v3/kv/range")?,
            transaction: client("/v3/kv/txn")?,
        })
    }

    /// Every key under `prefix` with its value and `mod_revision`.
    pub async fn range_prefix(&self, prefix: &str) -> Result<Vec<(String, String, i64)>, String> {
        let answer = ask(
            &self.range,
            serde_json::json!({ "key": base64_of(prefix), "range_end": base64_of(&prefix_end(prefix)) }),
        )
        .await?;
        let Some(kvs) = answer["kvs"].as_array() else {
            return Ok(Vec::new()); // no key: the gateway leaves the list out
        };
        kvs.iter()
            .map(|kv| {
                let key = text_of(&kv["key"]).ok_or("etcd: a key that is not base64 text")?;
                let value = text_of(&kv["value"]).unwrap_or_default();
                let revision = number_of(&kv["mod_revision"]).ok_or("etcd: no mod_revision")?;
                Ok((key, value, revision))
            })
            .collect()
    }

    /// One transaction: `compare` all hold → `success` applied; whether they held.
    async fn transaction(
        &self,
        compare: Vec<serde_json::Value>,
        success: Vec<serde_json::Value>,
    ) -> Result<bool, String> {
        let answer = ask(
            &self.transaction,
            serde_json::json!({ "compare": compare, "success": success }),
        )
        .await?;
        Ok(answer["succeeded"].as_bool().unwrap_or(false))
    }

    /// Write `value` at `key` unless a key is there already; false when one was.
    pub async fn create(&self, key: &str, value: &str) -> Result<bool, String> {
        self.transaction(vec![Etcd::absent(key)], vec![Etcd::put(key, value)])
            .await
    }

    /// Write each `(key, value)` where no key is, in one transaction when none is there yet;
    /// a key there already (a write retried after a lost answer) is left as it is.
    pub async fn create_all(&self, writes: &[(String, String)]) -> Result<(), String> {
        let compare = writes.iter().map(|(key, _)| Etcd::absent(key)).collect();
        let success = writes
            .iter()
            .map(|(key, value)| Etcd::put(key, value))
            .collect();
        if self.transaction(compare, success).await? {
            return Ok(());
        }
        for (key, value) in writes {
            self.create(key, value).await?;
        }
        Ok(())
    }

    pub async fn delete(&self, key: &str) -> Result<(), String> {
        self.delete_all(&[key]).await
    }

    pub async fn delete_all(&self, keys: &[&str]) -> Result<(), String> {
        let success = keys
            .iter()
            .map(|key| serde_json::json!({ "request_delete_range": { "key": base64_of(key) } }))
            .collect();
        self.transaction(Vec::new(), success).await.map(|_| ())
    }

    /// A comparison that holds when `key` does not exist.
    fn absent(key: &str) -> serde_json::Value {
        serde_json::json!({
            "key": base64_of(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"
        })
    }

    fn put(key: &str, value: &str) -> serde_json::Value {
        serde_json::json!({ "request_put": { "key": base64_of(key), "value": base64_of(value) } })
    }

    /// Move `from` (as last read, at `mod_revision`) to `to` with `value`, in one step: false
    /// when the key changed since (another site claimed it, or its request ended).
    pub async fn claim(
        &self,
        from: &str,
        mod_revision: i64,
        to: &str,
        value: &str,
    ) -> Result<bool, String> {
        let mut success = Vec::new();
        if from != to {
            success.push(serde_json::json!({ "request_delete_range": { "key": base64_of(from) } }));
        }
        success.push(Etcd::put(to, value));
        self.transaction(
            vec![serde_json::json!({
                "key": base64_of(from), "target": "MOD", "result": "EQUAL",
                "mod_revision": mod_revision.to_string()
            })],
            success,
        )
        .await
    }

    /// Every callback request in etcd, by site (keys that do not parse are skipped, logged).
    pub async fn requests(&self) -> Result<Vec<StoredKey>, String> {
        let mut requests = Vec::new();
        for (key, value, mod_revision) in self.range_prefix(CALLBACKS_PREFIX).await? {
            let Some((site, call_id)) = parse_request_key(&key) else {
                tracing::warn!(%key, "not a callback request key: left alone");
                continue;
            };
            match serde_json::from_str::<StoredRequest>(&value) {
                Ok(stored) => requests.push(StoredKey {
                    site: site.to_string(),
                    call_id: call_id.to_string(),
                    mod_revision,
                    stored,
                }),
                Err(error) => {
                    tracing::warn!(%key, %error, "a callback request that cannot be read: left alone")
                }
            }
        }
        Ok(requests)
    }

    /// The sites holding a lease now.
    pub async fn live_sites(&self) -> Result<Vec<String>, String> {
        Ok(self
            .range_prefix(SITES_PREFIX)
            .await?
            .into_iter()
            .filter_map(|(key, _, _)| key.strip_prefix(SITES_PREFIX).map(str::to_string))
            .collect())
    }
}

/// Which requests `site` (owner `owner` now) claims among `requests`, given the sites that
/// hold a lease: another site's whose lease is gone, and its own written by another owner.
pub fn to_claim<'r>(
    requests: &'r [StoredKey],
    live_sites: &[String],
    site: &str,
    owner: &str,
) -> Vec<&'r StoredKey> {
    requests
        .iter()
        .filter(|stored| {
            if stored.site == site {
                stored.stored.owner != owner
            } else {
                !live_sites.contains(&stored.site)
            }
        })
        .collect()
}

/// Start replicating: returns what the switch's loop sends its changes to. Writes go to etcd
/// in order, each retried until etcd takes it; `fence` is the site's lease (`lease::keep`),
/// claims are made only while it is open.
pub fn start(
    options: ReplicationOptions,
    handle: SwitchHandle,
    fence: watch::Receiver<(Fence, String)>,
) -> Result<mpsc::Sender<CallbackChange>, String> {
    let etcd = Etcd::new(&options.endpoint, Duration::from_secs(1))?;
    let (sender, changes) = mpsc::channel(CHANGE_QUEUE);
    let process = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_millis())
    );
    // The owner of what is written now: this process and how many times its fence opened.
    let (owner_sender, owner) = watch::channel(format!("{process}.0"));
    tokio::spawn(write(
        options.site.clone(),
        etcd.clone(),
        changes,
        handle.clone(),
        owner.clone(),
    ));
    tokio::spawn(claim(options, etcd, handle, fence, process, owner_sender));
    Ok(sender)
}

/// How long a write waits before it is tried again.
const RETRY: Duration = Duration::from_millis(200);

/// Changes written in one transaction at most: etcd refuses more than 128 operations in one
/// (`--max-txn-ops`), and a request takes one.
const MOST_IN_ONE_WRITE: usize = 64;

async fn write(
    site: String,
    etcd: Etcd,
    mut changes: mpsc::Receiver<CallbackChange>,
    handle: SwitchHandle,
    owner: watch::Receiver<String>,
) {
    // A change of the other kind than the batch being gathered, kept for the next one: the
    // order of the changes is kept (a request's end is never written before the request).
    let mut next: Option<CallbackChange> = None;
    loop {
        let first = match next.take() {
            Some(change) => change,
            None => match changes.recv().await {
                Some(change) => change,
                None => return,
            },
        };
        let requested = matches!(first, CallbackChange::Requested(_));
        let mut batch = vec![first];
        while batch.len() < MOST_IN_ONE_WRITE {
            match changes.try_recv() {
                Ok(change) if matches!(change, CallbackChange::Requested(_)) == requested => {
                    batch.push(change)
                }
                Ok(change) => {
                    next = Some(change);
                    break;
                }
                Err(_) => break,
            }
        }
        let owner = owner.borrow().clone();
        let mut call_ids = Vec::with_capacity(batch.len());
        let mut writes = Vec::with_capacity(batch.len());
        for change in batch {
            match change {
                CallbackChange::Requested(request) => {
                    let key = request_key(&site, &request.call_id);
                    call_ids.push(request.call_id.clone());
                    let value = serde_json::to_string(&StoredRequest {
                        owner: owner.clone(),
                        request,
                    })
                    .expect("a request serialises");
                    writes.push((key, value));
                }
                CallbackChange::Ended { call_id } => {
                    writes.push((request_key(&site, &call_id), String::new()))
                }
            }
        }
        if requested {
            while let Err(error) = etcd.create_all(&writes).await {
                tracing::debug!(%error, count = writes.len(), "callback requests not written yet");
                tokio::time::sleep(RETRY).await;
            }
            let command = Command::CallbackReplicated { call_ids };
            while handle.ask(command.clone()).await.is_err() {
                tokio::time::sleep(RETRY).await;
            }
        } else {
            let keys: Vec<&str> = writes.iter().map(|(key, _)| key.as_str()).collect();
            while let Err(error) = etcd.delete_all(&keys).await {
                tracing::debug!(%error, count = keys.len(), "ended callback requests not deleted yet");
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

async fn claim(
    options: ReplicationOptions,
    etcd: Etcd,
    handle: SwitchHandle,
    mut fence: watch::Receiver<(Fence, String)>,
    process: String,
    owner_sender: watch::Sender<String>,
) {
    let mut openings = 0u64;
    loop {
        // Wait for the fence to open: a new owner each time it does.
        while fence.borrow_and_update().0 != Fence::Open {
            if fence.changed().await.is_err() {
                return;
            }
        }
        openings += 1;
        let owner = format!("{process}.{openings}");
        owner_sender.send_replace(owner.clone());
        while fence.borrow().0 == Fence::Open {
            if let Err(error) = claim_once(&options.site, &owner, &etcd, &handle).await {
                tracing::debug!(%error, "no claim of callback requests this round");
            }
            tokio::select! {
                () = tokio::time::sleep(options.claim_every) => {}
                changed = fence.changed() => if changed.is_err() { return },
            }
        }
    }
}

async fn claim_once(
    site: &str,
    owner: &str,
    etcd: &Etcd,
    handle: &SwitchHandle,
) -> Result<(), String> {
    let live_sites = etcd.live_sites().await?;
    let requests = etcd.requests().await?;
    let mut claimed: BTreeMap<String, Vec<ReplicatedCallback>> = BTreeMap::new();
    for stored in to_claim(&requests, &live_sites, site, owner) {
        let mut request = stored.stored.request.clone();
        if stored.site != site {
            request.taken_over_from.push(stored.site.clone());
        }
        let value = serde_json::to_string(&StoredRequest {
            owner: owner.to_string(),
            request: request.clone(),
        })
        .expect("a request serialises");
        let from = request_key(&stored.site, &stored.call_id);
        let to = request_key(site, &stored.call_id);
        if etcd.claim(&from, stored.mod_revision, &to, &value).await? {
            claimed
                .entry(stored.site.clone())
                .or_default()
                .push(request);
        }
    }
    for (from_site, requests) in claimed {
        let count = requests.len();
        let command = Command::TakeOverCallbacks {
            requests,
            from_site: from_site.clone(),
        };
        // Claimed: the requests are this site's in etcd; the switch must have them.
        loop {
            match handle.ask(command.clone()).await {
                Ok(_) => break,
                Err(switchboard_live::api::CommandError::Unavailable) => {
                    tokio::time::sleep(RETRY).await
                }
                Err(error) => {
                    tracing::error!(?error, %from_site, "claimed callback requests not all queued");
                    break;
                }
            }
        }
        tracing::info!(count, %from_site, "callback requests claimed in etcd");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(site: &str, owner: &str) -> StoredKey {
        StoredKey {
            site: site.to_string(),
            call_id: format!("{site}-{owner}"),
            mod_revision: 1,
            stored: StoredRequest {
                owner: owner.to_string(),
                request: ReplicatedCallback {
                    call_id: format!("{site}-{owner}"),
                    queue: "callbacks".into(),
                    number: "+4930555123".into(),
                    trunk: "carrier".into(),
                    caller: None,
                    entry_point: "4000".into(),
                    arrived_unix_ms: 1,
                    requested_unix_ms: 2,
                    recorded: false,
                    taken_over_from: Vec::new(),
                },
            },
        }
    }

    #[test]
    fn a_site_claims_a_lost_sites_requests_and_its_own_from_an_earlier_life_only() {
        let requests = [
            stored("north", "1.1"),
            stored("south", "2.1"),
            stored("south", "2.2"),
            stored("east", "3.1"),
        ];
        let live = vec!["south".to_string(), "east".to_string()];
        let claimed: Vec<&str> = to_claim(&requests, &live, "south", "2.2")
            .into_iter()
            .map(|stored| stored.call_id.as_str())
            .collect();
        assert_eq!(claimed, ["north-1.1", "south-2.1"]);
    }

    #[test]
    fn request_keys_name_their_site_and_call_and_prefixes_end_past_them() {
        let key = request_key("north", "abc@198.18.0.1");
        assert_eq!(key, "switchboard/callbacks/north/abc@198.18.0.1");
        assert_eq!(parse_request_key(&key), Some(("north", "abc@198.18.0.1")));
        assert_eq!(parse_request_key("switchboard/sites/north"), None);
        assert_eq!(prefix_end(CALLBACKS_PREFIX), "switchboard/callbacks0");
        assert!(prefix_end(CALLBACKS_PREFIX).as_str() > key.as_str());
    }
}

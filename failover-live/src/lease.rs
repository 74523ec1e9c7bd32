//! A site's lease in etcd, and the fence it raises when the lease is lost.
//!
//! Each `serve` site with `[live.failover]` holds one etcd lease of `lease_ttl`, granted and
//! kept alive (every twelfth of the TTL) through its own etcd member's JSON gateway (etcd 3.4: `POST /v3/lease/grant`,
//! `/v3/lease/keepalive`, `/v3/kv/put`), and the key `switchboard/sites/SITE` attached to it,
//! which names the site holding it (`etcdctl get --prefix switchboard/sites/`). A member cut
//! off from the majority of the cluster can grant and renew nothing: the site then fences
//! itself — it refuses new calls and the carrier's probes, so that the carrier moves its traffic
//! to the sites that still hold theirs — before the majority could let its lease expire: two
//! thirds of the way into the TTL after the last renewal that succeeded, timed from when that
//! renewal was sent. It serves again once a new lease is granted.
//!
//! A renewal counts only once a quorum has confirmed it. etcd 3.4 answers a keep-alive from
//! its leader's memory, without a round through Raft, so a leader cut off from the others
//! goes on renewing for about an election timeout before it steps down — renewals that the
//! majority never sees, and that would let the cut site serve past the moment the majority
//! could expire its lease. Each keep-alive is therefore followed by a linearizable read of the
//! site's key (a read index that the leader must confirm with a quorum of heartbeats): the
//! renewal counts when the read finds the key still on the lease, in the same Raft term as the
//! keep-alive's answer, so the same leader served both.
//!
//! The site starts fenced: it serves only once it holds a lease.

use std::time::{Duration, Instant};

use switchboard_live::outbound_http::{Client, Target};

use crate::gateway::{ask, base64_of, number_of};

/// Where the lease is kept and for how long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseOptions {
    /// The site's name: the key `switchboard/sites/SITE`.
    pub site: String,
    /// The etcd member the site talks to (`http://HOST:PORT`): its own, in its datacenter.
    pub endpoint: String,
    /// The lease's time to live, in whole seconds (etcd's unit; at least 2).
    pub ttl_s: u64,
}

/// Whether the site may serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fence {
    /// The site holds its lease: it serves.
    Open,
    /// The site holds no lease: it refuses new calls and probes.
    Raised,
}

/// Keeps the site's lease for ever, telling `on_change` each time the fence opens or is
/// raised (first `Raised`, at once). Never returns.
pub async fn keep(options: LeaseOptions, mut on_change: impl FnMut(Fence, &str)) {
    assert!(options.ttl_s >= 2, "a lease of at least 2 s");
    let ttl = Duration::from_secs(options.ttl_s);
    // Renewals every twelfth of the TTL, sent on a fixed beat (a renewal that fails does not
    // push the next one back), each of its two requests given half a beat. When the etcd leader
    // is the member that was cut off, the majority elects another within about two election
    // timeouts, and a site on the majority side must get a renewal through between that
    // election and its own fence: two thirds of the TTL after its last renewal, which was sent
    // up to a beat before the cut. So the majority's site keeps its lease when two election
    // timeouts and two beats (a sixth of the TTL) fit in two thirds of it: a TTL of more than
    // four election timeouts (`docs/live.md`).
    let renew_every = ttl / 12;
    // A site must stop before the majority may give its lease away: at two thirds of the TTL
    // after the last renewal it knows of, counted from when that renewal was sent.
    let fence_after = ttl * 2 / 3;
    let client = |path: &str| {
        let endpoint = options.endpoint.trim_end_matches('/');
        let target = Target::parse(&format!("{endpoint}{path}"))
            .expect("the endpoint was checked with the configuration");
        Client::new(target, None, renew_every / 2).expect("plain http needs no certificates")
    };
    let grant = client("/v3/lease/grant");
    let keep_alive = client("/v3/lease/keepalive");
    let put = client("/v3/kv/put");
    let read = client("/v3/kv/range");
    let key = base64_of(&format!("switchboard/sites/{}", options.site));
    let value = base64_of(&options.site);
    let mut fence = Fence::Raised;
    on_change(fence, "starting: no lease yet");
    loop {
        // Raised: ask for a new lease until one is granted and the key is attached to it.
        let asked_at = Instant::now();
        let lease = match ask(&grant, serde_json::json!({ "TTL": options.ttl_s })).await {
            Ok(answer) => answer["ID"].as_str().map(str::to_string),
            Err(_) => None,
        };
        let Some(lease) = lease else {
            tokio::time::sleep_until((asked_at + renew_every).into()).await;
            continue;
        };
        let attached = ask(
            &put,
            serde_json::json!({ "key": key, "value": value, "lease": lease }),
        )
        .await
        .is_ok();
        if !attached {
            continue;
        }
        let mut renewed_at = asked_at;
        fence = Fence::Open;
        on_change(
            fence,
            &format!("lease {lease} granted for {} s", options.ttl_s),
        );
        // Open: renew on the beat; raise the fence when renewals stop succeeding.
        // The fence has its own deadline, raced against the renewal in flight: waiting for a
        // renewal's timeout before looking at the clock let a cut site fence itself up to one
        // renewal period (sleep and timeout) after `fence_after`, past the lease itself.
        let mut next_send_at = asked_at;
        while fence == Fence::Open {
            let fence_at = renewed_at + fence_after;
            // On the beat, but never a burst to catch up after the process was held up.
            next_send_at = (next_send_at + renew_every).max(Instant::now());
            let send_at = next_send_at;
            let renewal = async {
                tokio::time::sleep_until(send_at.into()).await;
                let sent_at = Instant::now();
                let renewed = match ask(&keep_alive, serde_json::json!({ "ID": lease })).await {
                    Ok(answer) if ttl_of(&answer["result"]).is_some_and(|ttl| ttl > 0) => {
                        let term = raft_term(&answer["result"]);
                        let confirmed = ask(&read, serde_json::json!({ "key": key })).await;
                        Ok(confirmed.is_ok_and(|confirmed| {
                            term.is_some()
                                && raft_term(&confirmed) == term
                                && key_is_on_lease(&confirmed, &lease)
                        }))
                    }
                    Ok(_) => Err(()),
                    Err(_) => Ok(false),
                };
                (sent_at, renewed)
            };
            tokio::select! {
                (sent_at, renewed) = renewal => match renewed {
                    Ok(true) => renewed_at = sent_at,
                    Ok(false) => {}
                    Err(()) => {
                        fence = Fence::Raised;
                        on_change(fence, &format!("lease {lease} expired"));
                    }
                },
                () = tokio::time::sleep_until(fence_at.into()) => {
                    fence = Fence::Raised;
                    let silent_ms = renewed_at.elapsed().as_millis();
                    on_change(
                        fence,
                        &format!("lease {lease} not renewed for {silent_ms} ms"),
                    );
                }
            }
        }
    }
}

/// A lease's TTL in an answer (none in a keep-alive's answer once the lease has expired).
fn ttl_of(answer: &serde_json::Value) -> Option<i64> {
    number_of(&answer["TTL"])
}

/// The Raft term in an answer's header.
fn raft_term(answer: &serde_json::Value) -> Option<i64> {
    number_of(&answer["header"]["raft_term"])
}

/// Whether a range answer holds the site's key attached to `lease`: a key deleted by the
/// lease's expiry, or put again on another lease, means this lease no longer holds it.
fn key_is_on_lease(answer: &serde_json::Value, lease: &str) -> bool {
    let Ok(lease) = lease.parse::<i64>() else {
        return false;
    };
    answer["kvs"]
        .as_array()
        .is_some_and(|kvs| kvs.iter().any(|kv| number_of(&kv["lease"]) == Some(lease)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ttl_is_read_as_the_gateway_writes_it_or_as_a_number() {
        let answer = serde_json::json!({ "result": { "ID": "7587", "TTL": "3" } });
        assert_eq!(ttl_of(&answer["result"]), Some(3));
        assert_eq!(ttl_of(&serde_json::json!({ "TTL": 2 })), Some(2));
        // An expired lease's keep-alive answer has no TTL.
        assert_eq!(ttl_of(&serde_json::json!({ "ID": "7587" })), None);
    }

    #[test]
    fn a_renewal_is_confirmed_by_the_key_on_its_lease_in_the_same_term() {
        let keep_alive = serde_json::json!({
            "result": { "header": { "raft_term": "4" }, "ID": "7587", "TTL": "3" }
        });
        let read = serde_json::json!({
            "header": { "raft_term": "4" },
            "kvs": [{ "key": "c3dpdGNoYm9hcmQ=", "lease": "7587" }],
            "count": "1"
        });
        assert_eq!(raft_term(&keep_alive["result"]), Some(4));
        assert_eq!(raft_term(&read), Some(4));
        assert!(key_is_on_lease(&read, "7587"));
        assert!(
            !key_is_on_lease(&read, "7588"),
            "put again on another lease"
        );
        // The gateway leaves out an empty `kvs`: the lease expired and took the key.
        assert!(!key_is_on_lease(
            &serde_json::json!({ "header": {} }),
            "7587"
        ));
        assert_eq!(raft_term(&serde_json::json!({ "header": {} })), None);
    }
}

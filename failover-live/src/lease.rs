//! A site's lease in etcd, and the fence it raises when the lease is lost.
//!
//! Each `serve` site with `[live.failover]` holds one etcd lease of `lease_ttl`, granted and
//! kept alive (every sixth of the TTL) through its own etcd member's JSON gateway (etcd 3.4: `POST /v3/lease/grant`,
//! `/v3/lease/keepalive`, `/v3/kv/put`), and the key `switchboard/sites/SITE` attached to it,
//! which names the site holding it (`etcdctl get --prefix switchboard/sites/`). A member cut
//! off from the majority of the cluster can grant and renew nothing: the site then fences
//! itself — it refuses new calls and the carrier's probes, so that the carrier moves its traffic
//! to the sites that still hold theirs — before the majority could let its lease expire: two
//! thirds of the way into the TTL after the last renewal that succeeded, timed from when that
//! renewal was sent. It serves again once a new lease is granted.
//!
//! The site starts fenced: it serves only once it holds a lease.

use std::time::{Duration, Instant};

use base64::Engine as _;
use switchboard_live::outbound_http::{Client, Target};

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
    // Renewals every sixth of the TTL, each given as long: when the etcd leader is lost (a
    // partition that takes it away), the majority's election takes about a second, and a site
    // on the majority side must get a renewal through soon after it rather than fence itself.
    let renew_every = ttl / 6;
    // A site must stop before the majority may give its lease away: at two thirds of the TTL
    // after the last renewal it knows of, counted from when that renewal was sent.
    let fence_after = ttl * 2 / 3;
    let client = |path: &str| {
        let endpoint = options.endpoint.trim_end_matches('/');
        let target = Target::parse(&format!("{endpoint}{path}"))
            .expect("the endpoint was checked with the configuration");
        Client::new(target, None, renew_every).expect("plain http needs no certificates")
    };
    let grant = client("/v3/lease/grant");
    let keep_alive = client("/v3/lease/keepalive");
    let put = client("/v3/kv/put");
    let key = base64::engine::general_purpose::STANDARD
        .encode(format!("switchboard/sites/{}", options.site));
    let value = base64::engine::general_purpose::STANDARD.encode(&options.site);
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
        // Open: renew every sixth of the TTL; raise the fence when renewals stop succeeding.
        // The fence has its own deadline, raced against the renewal in flight: waiting for a
        // renewal's timeout before looking at the clock let a cut site fence itself up to one
        // renewal period (sleep and timeout) after `fence_after`, past the lease itself.
        while fence == Fence::Open {
            let fence_at = renewed_at + fence_after;
            let renewal = async {
                tokio::time::sleep_until((Instant::now() + renew_every).into()).await;
                let sent_at = Instant::now();
                (
                    sent_at,
                    ask(&keep_alive, serde_json::json!({ "ID": lease })).await,
                )
            };
            tokio::select! {
                (sent_at, answer) = renewal => match answer {
                    Ok(answer) if ttl_of(&answer["result"]).is_some_and(|ttl| ttl > 0) => {
                        renewed_at = sent_at;
                    }
                    Ok(_) => {
                        fence = Fence::Raised;
                        on_change(fence, &format!("lease {lease} expired"));
                    }
                    Err(_) => {}
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

/// One POST of `body` to etcd's gateway: its JSON answer, or why there was none.
pub(crate) async fn ask(
    client: &Client,
    body: serde_json::Value,
) -> Result<serde_json::Value, String> {
    let (status, answer) = client
        .post_reading(&[], bytes::Bytes::from(body.to_string()))
        .await?;
    if status != 200 {
        return Err(format!("etcd answered {status}"));
    }
    let answer: serde_json::Value =
        serde_json::from_slice(&answer).map_err(|error| format!("etcd's answer: {error}"))?;
    if answer.get("error").is_some() {
        return Err(format!("etcd: {}", answer["error"]));
    }
    Ok(answer)
}

/// A lease's TTL in an answer: the gateway writes 64-bit numbers as strings.
fn ttl_of(answer: &serde_json::Value) -> Option<i64> {
    match &answer["TTL"] {
        serde_json::Value::String(text) => text.parse().ok(),
        value => value.as_i64(),
    }
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
}

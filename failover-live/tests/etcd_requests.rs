//! The callback requests' etcd operations against a real etcd 3.4 member (Debian's
//! `etcd-server`) on loopback: creation only where no key is, and a claim that moves a key only
//! from the revision it read, so that two sites racing for one request cannot both win.
//! Fails (never skips) without `etcd`.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use switchboard_failover_live::replication::{request_key, Etcd, StoredRequest};
use switchboard_live::switch::ReplicatedCallback;

struct Member(Child);

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_member(folder: &std::path::Path) -> (Member, String) {
    let (client, peer) = (free_port(), free_port());
    let client_url = format!("http://127.0.0.1:{client}");
    let peer_url = format!("http://127.0.0.1:{peer}");
    let child = Command::new("etcd")
        .args(["--name", "only"])
        .arg("--data-dir")
        .arg(folder.join("etcd"))
        .args(["--listen-client-urls", &client_url])
        .args(["--advertise-client-urls", &client_url])
        .args(["--listen-peer-urls", &peer_url])
        .args(["--initial-advertise-peer-urls", &peer_url])
        .args(["--initial-cluster", &format!("only={peer_url}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("etcd is needed for this test: apt-get install -y etcd-server");
    (Member(child), client_url)
}

fn request(call_id: &str) -> ReplicatedCallback {
    ReplicatedCallback {
        call_id: call_id.to_string(),
        queue: "callbacks".into(),
        number: "+4930555123".into(),
        trunk: "carrier".into(),
        caller: Some("+49305****23".into()),
        entry_point: "4000".into(),
        arrived_unix_ms: 1_796_700_000_000,
        requested_unix_ms: 1_796_700_001_000,
        recorded: false,
        taken_over_from: Vec::new(),
    }
}

#[tokio::test]
async fn a_request_is_created_once_and_claimed_by_exactly_one_site() {
    let folder = tempfile::tempdir().unwrap();
    let (_member, endpoint) = start_member(folder.path());
    let etcd = Etcd::new(&endpoint, Duration::from_secs(1)).unwrap();
    // Generous: a loaded machine may take seconds to start etcd and elect itself.
    let started = Instant::now();
    while etcd.live_sites().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "etcd did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stored = StoredRequest {
        owner: "1.1".into(),
        request: request("call-1@carrier"),
    };
    let value = serde_json::to_string(&stored).unwrap();
    let key = request_key("north", "call-1@carrier");
    assert!(etcd.create(&key, &value).await.unwrap());
    assert!(
        !etcd.create(&key, "overwritten").await.unwrap(),
        "a second write where a key is must not replace it"
    );
    let requests = etcd.requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].site, "north");
    assert_eq!(requests[0].call_id, "call-1@carrier");
    assert_eq!(requests[0].stored, stored);
    let revision = requests[0].mod_revision;

    // Two sites claim from the same read: the first moves the key, the second finds it gone.
    let south = request_key("south", "call-1@carrier");
    let east = request_key("east", "call-1@carrier");
    assert!(etcd.claim(&key, revision, &south, &value).await.unwrap());
    assert!(!etcd.claim(&key, revision, &east, &value).await.unwrap());
    let requests = etcd.requests().await.unwrap();
    let owners: Vec<&str> = requests.iter().map(|stored| stored.site.as_str()).collect();
    assert_eq!(owners, ["south"]);

    // A site claiming its own key back (an earlier life's) rewrites it in place; a stale
    // revision changes nothing.
    let revision = requests[0].mod_revision;
    assert!(!etcd
        .claim(&south, revision - 1, &south, "stale")
        .await
        .unwrap());
    assert!(etcd.claim(&south, revision, &south, &value).await.unwrap());
    etcd.delete(&south).await.unwrap();
    assert!(etcd.requests().await.unwrap().is_empty());

    // Many at once, one of them written already: the others are written, that one is kept.
    let writes: Vec<(String, String)> = (1..=3)
        .map(|number| {
            let stored = StoredRequest {
                owner: "1.2".into(),
                request: request(&format!("call-{number}@carrier")),
            };
            let key = request_key("north", &stored.request.call_id);
            (key, serde_json::to_string(&stored).unwrap())
        })
        .collect();
    assert!(etcd.create(&writes[1].0, &value).await.unwrap());
    etcd.create_all(&writes).await.unwrap();
    let requests = etcd.requests().await.unwrap();
    let owners: Vec<(&str, &str)> = requests
        .iter()
        .map(|stored| (stored.call_id.as_str(), stored.stored.owner.as_str()))
        .collect();
    assert_eq!(
        owners,
        [
            ("call-1@carrier", "1.2"),
            ("call-2@carrier", "1.1"),
            ("call-3@carrier", "1.2")
        ]
    );
    let keys: Vec<&str> = writes.iter().map(|(key, _)| key.as_str()).collect();
    etcd.delete_all(&keys).await.unwrap();
    assert!(etcd.requests().await.unwrap().is_empty());
    assert!(etcd.live_sites().await.unwrap().is_empty());
}

//! Anchored media against SIPp: RFC 4733 keys replayed from a pcap drive an IVR menu.

mod common;

use common::{assert_trunk_succeeded, cdrs, repository_file, require_sipp, Server};

const CENTER: &str = "tests/media/center.toml";

#[test]
fn rfc_4733_keys_in_rtp_choose_the_ivr_branch() {
    require_sipp();
    let mut server = Server::start(CENTER);
    let _billing = server.agent("billing-team-1", "agent_answer.xml");
    let _sales = server.agent("sales-team-1", "agent_answer.xml");
    std::fs::copy(
        repository_file("tests/sipp/dtmf-2.pcap"),
        server.directory.path().join("dtmf-2.pcap"),
    )
    .unwrap();
    // The menu's prompt lasts 3 s; the key (2 = billing) comes half a second into it.
    let result = server.trunk("caller_ivr_rtp.xml", "support-line", &["-m", "1"]);
    assert_trunk_succeeded(&server, &result);
    server.stop();
    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].outcome, "completed");
    assert_eq!(
        rows[0].queue.as_deref(),
        Some("billing"),
        "key 2 leads to billing\n{}",
        server.log()
    );
    assert_eq!(rows[0].agent.as_deref(), Some("billing-team-1"));
}

//! Blind transfer of a connected call against real SIP peers: SIPp plays the trunk's caller
//! and two agents' phones on loopback, with anchored media (tests/media/center.toml). The API
//! (`POST /calls/{contact}/transfer`) hands the call over, and the CDR rows say what happened.

mod common;

use std::time::{Duration, Instant};

use common::{assert_trunk_succeeded, cdrs, require_sipp, Server, TOKEN};

const CENTER: &str = "tests/media/center.toml";

/// The contact id of the call `agent` talks on, once it does (at most `limit` from now).
fn talking_on(server: &Server, agent: &str, limit: Duration) -> Option<u64> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let (_, body) = server.read(&format!("/agents/{agent}/contacts"));
        if let Ok(serde_json::Value::Array(contacts)) = serde_json::from_str(&body) {
            let talking = contacts
                .iter()
                .find(|contact| contact["state"] == "talking")
                .and_then(|contact| contact["contact_id"].as_u64());
            if talking.is_some() {
                return talking;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

#[test]
fn a_call_transferred_to_another_queue_ends_with_an_agent_of_that_queue() {
    require_sipp();
    let mut server = Server::start(CENTER);
    let _sales = server.agent("sales-team-1", "agent_answer.xml");
    let _billing = server.agent("billing-team-1", "agent_answer.xml");
    let (transfer, result) = std::thread::scope(|scope| {
        // The caller talks for 6 s, long enough to be handed over and answered again.
        let trunk = scope.spawn(|| server.trunk("caller.xml", "sales", &["-m", "1", "-d", "6000"]));
        let contact = talking_on(&server, "sales-team-1", Duration::from_secs(10))
            .expect("the sales agent answers the call");
        let transfer = server.post(
            &format!("/calls/{contact}/transfer"),
            Some(TOKEN),
            r#"{"queue":"billing"}"#,
        );
        let by_billing = talking_on(&server, "billing-team-1", Duration::from_secs(5));
        assert_eq!(
            by_billing,
            Some(contact),
            "the same call, answered in billing"
        );
        (transfer, trunk.join().unwrap())
    });
    assert_eq!(transfer.0, 200, "{}\n{}", transfer.1, server.log());
    assert_trunk_succeeded(&server, &result);
    let answer: serde_json::Value = serde_json::from_str(&transfer.1).unwrap();
    assert_eq!(answer["transferred_to"], "queue:billing");
    let conversation = answer["conversation_id"].as_u64().unwrap();
    server.stop();

    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (before, after) = if rows[0].transferred_to.is_some() {
        (&rows[0], &rows[1])
    } else {
        (&rows[1], &rows[0])
    };
    assert_eq!(before.call_id, after.call_id, "one caller leg");
    assert_eq!(before.contact_id, conversation);
    assert_eq!(before.transferred_to.as_deref(), Some("queue:billing"));
    assert_eq!(before.agent.as_deref(), Some("sales-team-1"));
    assert_eq!(before.queue.as_deref(), Some("sales"));
    assert_eq!(before.outcome, "completed");
    assert_eq!(before.hangup_side, "agent");
    assert_eq!(after.transfer_of, Some(conversation));
    assert_eq!(after.agent.as_deref(), Some("billing-team-1"));
    assert_eq!(after.queue.as_deref(), Some("billing"));
    assert_eq!(after.outcome, "completed");
    assert_eq!(after.hangup_side, "customer");
    assert_eq!(after.sip_status, 200);
}

#[test]
fn a_transfer_to_an_unknown_queue_is_refused_and_the_call_stays_connected() {
    require_sipp();
    let mut server = Server::start(CENTER);
    let _sales = server.agent("sales-team-1", "agent_answer.xml");
    let (refusal, still_talking, result) = std::thread::scope(|scope| {
        let trunk = scope.spawn(|| server.trunk("caller.xml", "sales", &["-m", "1", "-d", "3000"]));
        let contact = talking_on(&server, "sales-team-1", Duration::from_secs(10))
            .expect("the sales agent answers the call");
        let refusal = server.post(
            &format!("/calls/{contact}/transfer"),
            Some(TOKEN),
            r#"{"queue":"biling"}"#,
        );
        let still_talking = talking_on(&server, "sales-team-1", Duration::from_secs(1));
        (
            refusal,
            still_talking.map(|_| contact),
            trunk.join().unwrap(),
        )
    });
    assert_eq!(refusal.0, 422, "{}", refusal.1);
    let error: serde_json::Value = serde_json::from_str(&refusal.1).unwrap();
    let message = error["error"].as_str().unwrap();
    assert!(
        message.contains("did you mean `billing`?"),
        "the error suggests the queue meant: {message}"
    );
    assert!(still_talking.is_some(), "the call stays with its agent");
    assert_trunk_succeeded(&server, &result);
    server.stop();
    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].transferred_to, None);
    assert_eq!(rows[0].agent.as_deref(), Some("sales-team-1"));
    assert_eq!(rows[0].hangup_side, "customer");
}

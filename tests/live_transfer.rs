//! Blind transfer of a connected call against real SIP peers: SIPp plays the trunk's caller
//! and two agents' phones on loopback, with anchored media (tests/media/center.toml). The API
//! (`POST /calls/{contact}/transfer`) hands the call over, and the CDR rows say what happened.

mod common;

use std::time::{Duration, Instant};

use common::{assert_trunk_succeeded, cdrs, require_sipp, Cdr, Server, TOKEN};

const CENTER: &str = "tests/media/center.toml";

/// The contact id of the call `agent` talks on, once it does (at most `limit` from now).
fn talking_on(server: &Server, agent: &str, limit: Duration) -> Option<u64> {
    call_of(server, agent, "talking", limit)
}

/// The contact id of a call of `agent` in `state` (`ringing`, `talking`), once there is one.
fn call_of(server: &Server, agent: &str, state: &str, limit: Duration) -> Option<u64> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let (_, body) = server.read(&format!("/agents/{agent}/contacts"));
        if let Ok(serde_json::Value::Array(contacts)) = serde_json::from_str(&body) {
            let found = contacts
                .iter()
                .find(|contact| contact["state"] == state)
                .and_then(|contact| contact["contact_id"].as_u64());
            if found.is_some() {
                return found;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// Once sales-team-1 talks on a call, ask the API to transfer it with `body`: the call's
/// contact id and the answer.
fn transfer_once_answered(server: &Server, body: &str) -> (u64, (u16, String)) {
    let contact = talking_on(server, "sales-team-1", Duration::from_secs(10))
        .expect("the sales agent answers the call");
    let answer = server.post(&format!("/calls/{contact}/transfer"), Some(TOKEN), body);
    (contact, answer)
}

/// A transferred call's two CDR rows: the conversation before the transfer and the rest of
/// the call, one caller leg (same Call-ID), linked by `transfer_of`.
fn before_and_after(rows: &[Cdr]) -> (&Cdr, &Cdr) {
    assert_eq!(rows.len(), 2, "{rows:?}");
    let before = rows.iter().find(|row| row.transferred_to.is_some());
    let after = rows.iter().find(|row| row.transfer_of.is_some());
    let (Some(before), Some(after)) = (before, after) else {
        panic!("no transferred row and row after it: {rows:?}");
    };
    assert_eq!(before.call_id, after.call_id, "one caller leg");
    assert_eq!(after.transfer_of, Some(before.contact_id));
    (before, after)
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
        let (contact, transfer) = transfer_once_answered(&server, r#"{"queue":"billing"}"#);
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
    let (before, after) = before_and_after(&rows);
    assert_eq!(before.contact_id, conversation);
    assert_eq!(before.transferred_to.as_deref(), Some("queue:billing"));
    assert_eq!(before.agent.as_deref(), Some("sales-team-1"));
    assert_eq!(before.queue.as_deref(), Some("sales"));
    assert_eq!(before.outcome, "completed");
    assert_eq!(before.hangup_side, "agent");
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
        let (contact, refusal) = transfer_once_answered(&server, r#"{"queue":"biling"}"#);
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

/// The phone's SIPp ends its one call (`-m 1`) within 10 s, and it went as its scenario says.
fn assert_phone_succeeded(server: &Server, phone: &mut common::Guard, what: &str) {
    let status = phone.wait(Duration::from_secs(10));
    assert!(
        status.is_some_and(|status| status.success()),
        "{what}: {status:?}\n{}",
        server.log()
    );
}

/// A call answered in sales whose agent's phone REFERs it to `refer_to`; the CDR rows after.
/// The phone's SIPp handles that one call and fails unless it saw the 202, a NOTIFY with the
/// sipfrag `SIP/2.0 100 Trying`, one with `SIP/2.0 200 OK` (subscription terminated) and the
/// switch's BYE.
fn transfer_by_refer(refer_to: &str, answered_by: &str) -> Vec<Cdr> {
    require_sipp();
    let mut server = Server::start(CENTER);
    let mut sales = server.agent_with(
        "sales-team-1",
        "agent_refer.xml",
        &["-m", "1", "-key", "refer_to", refer_to],
    );
    let _billing = server.agent("billing-team-1", "agent_answer.xml");
    let (answered, result) = std::thread::scope(|scope| {
        let trunk = scope.spawn(|| server.trunk("caller.xml", "sales", &["-m", "1", "-d", "5000"]));
        let answered = talking_on(&server, answered_by, Duration::from_secs(10));
        (answered, trunk.join().unwrap())
    });
    assert_trunk_succeeded(&server, &result);
    assert!(
        answered.is_some(),
        "{answered_by} answers the transferred call\n{}",
        server.log()
    );
    assert_phone_succeeded(
        &server,
        &mut sales,
        "the transferring phone saw 202, both NOTIFYs and the BYE",
    );
    server.stop();
    cdrs(&server.cdr_path())
}

#[test]
fn a_refer_from_the_agent_phone_to_a_queue_transfers_the_call() {
    let rows = transfer_by_refer("billing", "billing-team-1");
    let (before, after) = before_and_after(&rows);
    assert_eq!(before.transferred_to.as_deref(), Some("queue:billing"));
    assert_eq!(before.agent.as_deref(), Some("sales-team-1"));
    assert_eq!(before.hangup_side, "agent");
    assert_eq!(after.queue.as_deref(), Some("billing"));
    assert_eq!(after.agent.as_deref(), Some("billing-team-1"));
    assert_eq!(after.outcome, "completed");
}

#[test]
fn a_refer_from_the_agent_phone_to_an_agent_rings_that_agent() {
    let rows = transfer_by_refer("billing-team-1", "billing-team-1");
    let (before, after) = before_and_after(&rows);
    assert_eq!(
        before.transferred_to.as_deref(),
        Some("agent:billing-team-1")
    );
    // Offered from the queue it was answered in, to the agent named.
    assert_eq!(after.queue.as_deref(), Some("sales"));
    assert_eq!(after.agent.as_deref(), Some("billing-team-1"));
}

#[test]
fn a_refer_to_an_unknown_target_is_refused_and_the_call_stays_connected() {
    require_sipp();
    let mut server = Server::start(CENTER);
    // The phone expects a 404 to its REFER, then the BYE when the caller hangs up.
    let mut sales = server.agent_with(
        "sales-team-1",
        "agent_refer_refused.xml",
        &["-m", "1", "-key", "refer_to", "nosuch"],
    );
    let result = server.trunk("caller.xml", "sales", &["-m", "1", "-d", "2000"]);
    assert_trunk_succeeded(&server, &result);
    assert_phone_succeeded(&server, &mut sales, "the phone got 404 and kept the call");
    server.stop();
    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].transferred_to, None);
    assert_eq!(rows[0].agent.as_deref(), Some("sales-team-1"));
    assert_eq!(rows[0].hangup_side, "customer");
    assert_eq!(rows[0].outcome, "completed");
}

#[test]
fn a_caller_who_hangs_up_while_the_next_agent_rings_abandons_and_the_ring_is_cancelled() {
    require_sipp();
    let mut server = Server::start(CENTER);
    let _sales = server.agent("sales-team-1", "agent_answer.xml");
    // Billing's phone rings and expects a CANCEL (a BYE would fail its one call).
    let mut billing = server.agent_with("billing-team-1", "agent_noanswer.xml", &["-m", "1"]);
    let (ringing, result) = std::thread::scope(|scope| {
        // The caller hangs up 2.5 s after the answer, within billing's 5 s offer timeout.
        let trunk = scope.spawn(|| server.trunk("caller.xml", "sales", &["-m", "1", "-d", "2500"]));
        let (_, transfer) = transfer_once_answered(&server, r#"{"queue":"billing"}"#);
        assert_eq!(transfer.0, 200, "{}", transfer.1);
        let ringing = call_of(&server, "billing-team-1", "ringing", Duration::from_secs(2));
        (ringing, trunk.join().unwrap())
    });
    assert!(ringing.is_some(), "billing's phone rang\n{}", server.log());
    assert_trunk_succeeded(&server, &result);
    assert_phone_succeeded(
        &server,
        &mut billing,
        "billing's ringing phone got a CANCEL",
    );
    server.stop();
    let rows = cdrs(&server.cdr_path());
    let (before, after) = before_and_after(&rows);
    assert_eq!(before.outcome, "completed");
    assert_eq!(after.outcome, "abandoned");
    assert_eq!(after.hangup_side, "customer");
    assert_eq!(after.agent, None);
    assert_eq!(after.offers_unanswered, 1);
}

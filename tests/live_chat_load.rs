//! The short, bounded chat load (the full one is `scripts/chat-load.sh`, docs/performance.md):
//! the same generator against a real `serve` (debug build) with 20 agents and 40 sessions at
//! 200 messages per second for 3 seconds. Every message written is answered and arrives.

mod common;

#[path = "common/chat_load.rs"]
mod chat_load;

use common::{Server, TOKEN};

#[test]
fn forty_sessions_exchange_messages_at_a_steady_rate_without_an_error() {
    let mut server = Server::start("tests/chat/load-center.toml");
    let settings = chat_load::LoadSettings {
        http: format!("127.0.0.1:{}", server.http_port),
        token: TOKEN.to_string(),
        entry: "web".to_string(),
        agent_prefix: "load-".to_string(),
        agents: 20,
        sessions: 40,
        messages_per_s: 200.0,
        duration_s: 3.0,
        connects_per_s: 200.0,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let report = runtime.block_on(chat_load::run(settings));
    server.stop();
    let text = report.lines();
    assert_eq!(report.errors, 0, "{text}");
    assert_eq!(report.sessions_connected, 40, "{text}");
    assert_eq!(report.agents_attached, 20, "{text}");
    // Every customer message is answered once it arrives; the last ones may still have been
    // on their way when the customers stopped.
    let (asked, answered) = (report.customer_messages_sent, report.agent_messages_sent);
    assert!(answered <= asked && asked - answered <= 40, "{text}");
    // 600 messages are due in the window; a busy machine delays some past its end.
    let delivered = report.messages_delivered;
    assert!((450..=660).contains(&delivered), "{text}");
    assert_eq!(
        report.to_agent_us.len() + report.to_customer_us.len(),
        delivered,
        "{text}"
    );
}

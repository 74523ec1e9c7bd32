//! The live runtime on the real clock: `switchboard serve` over loopback UDP, with the
//! script's callers and agents as the same [`Peers`] on two UDP sockets, and agents' actions
//! sent to its HTTP API.
//!
//! Time is the wall clock from an epoch the server shares (`serve --epoch-unix-ms`),
//! optionally run faster or slower (`clock_rate`: script milliseconds per wall millisecond;
//! `serve --clock-rate`). The network and the scheduler add noise, so times differ from the
//! simulator's by a little, and a decision can change only where the script leaves two things
//! closer than that noise. On a grid (`quantum_ms`, the script's, and `serve
//! --clock-quantum-ms`) both read the clock on the grid and the peers act half a step after
//! each grid point, so that noise below half a step changes no time at all
//! (`docs/agreement.md`).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use switchboard_live::api::Command;
use switchboard_results::script::{CallerDecision, Decision};
use tokio::net::UdpSocket;
use tokio::time::Instant;

use crate::peers::{contact_of_caller, Peers};
use crate::plan::ReplayPlan;

/// Where the live runtime listens and how to speak to its API.
#[derive(Clone, Debug)]
pub struct RealClockOptions {
    pub switch: SocketAddr,
    pub http: SocketAddr,
    pub token: String,
    /// Script milliseconds per wall-clock millisecond (1: real time).
    pub clock_rate: f64,
    /// The instant of script time 0, shared with the server.
    pub epoch: Instant,
    /// The script's grid (0: none).
    pub quantum_ms: u64,
    /// How often phones refresh their registration (script milliseconds).
    pub register_every_ms: u64,
}

/// What the peers saw of a real-clock replay.
#[derive(Clone, Debug, Default)]
pub struct RealClockOutput {
    pub datagrams_sent: u64,
    pub datagrams_received: u64,
    /// Agents' actions the API refused, with why.
    pub refused_commands: Vec<String>,
}

/// The live runtime's HTTP API over one kept-alive connection.
struct Api {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    authority: String,
    token: String,
}

impl Api {
    async fn connect(address: SocketAddr, token: String) -> Result<Api, String> {
        let stream = tokio::net::TcpStream::connect(address)
            .await
            .map_err(|error| format!("cannot reach the API at {address}: {error}"))?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|error| format!("cannot speak HTTP to {address}: {error}"))?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "API connection closed");
            }
        });
        Ok(Api {
            sender,
            authority: address.to_string(),
            token,
        })
    }

    /// Carries out an agent's action; a refusal comes back with the API's answer.
    async fn send(&mut self, command: &Command) -> Result<(), String> {
        let (agent, action, body) = match command {
            Command::AgentLogin { agent } => (agent, "login", String::new()),
            Command::AgentLogout { agent } => (agent, "logout", String::new()),
            Command::AgentReady { agent } => (agent, "ready", String::new()),
            Command::AgentAux { agent, reason } => (
                agent,
                "aux",
                serde_json::json!({ "reason": reason }).to_string(),
            ),
            other => return Err(format!("not an agent's action: {other:?}")),
        };
        self.sender
            .ready()
            .await
            .map_err(|error| format!("the API connection broke: {error}"))?;
        let request = hyper::Request::post(format!("/agents/{agent}/{action}"))
            .header(hyper::header::HOST, &self.authority)
            .header(
                hyper::header::AUTHORIZATION,
                format!("Bearer {}", self.token),
            )
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|error| format!("cannot build the request: {error}"))?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|error| format!("the API did not answer: {error}"))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map(|collected| collected.to_bytes())
            .unwrap_or_default();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("{status}: {}", String::from_utf8_lossy(&body)))
        }
    }
}

/// Plays `plan` against a running `switchboard serve` until the script's duration has passed
/// on the scaled clock. `agents`: every agent of the center, each given a registered phone.
pub async fn replay(
    plan: ReplayPlan,
    agents: Vec<String>,
    options: RealClockOptions,
) -> Result<RealClockOutput, String> {
    assert!(options.clock_rate > 0.0, "a clock that moves");
    let bind = |what: &'static str| async move {
        UdpSocket::bind("127.0.0.1:0")
            .await
            .map_err(|error| format!("cannot open the {what}'s UDP socket: {error}"))
    };
    let trunk = bind("trunk").await?;
    let phones = bind("phones").await?;
    let trunk_address = trunk.local_addr().map_err(|error| error.to_string())?;
    let phones_address = phones.local_addr().map_err(|error| error.to_string())?;
    let duration_ms = plan.duration_ms;
    let mut peers = Peers::new(
        plan,
        agents,
        options.switch,
        trunk_address,
        phones_address,
        options.register_every_ms,
    );
    let mut api = Api::connect(options.http, options.token.clone()).await?;
    let rate = options.clock_rate;
    let start = options.epoch;
    let quantum_ms = options.quantum_ms;
    // On a grid, the peers read the clock as the server does (the last grid point passed) and
    // act half a step after the grid point an action is due at: what the server sends at a
    // grid point (a timer's offer) or half a step later (the answer to an input) reads as that
    // grid point at the peers, and what they send reads as it at the server.
    let half_step_ms = quantum_ms as f64 / 2.0;
    let now_ms = || {
        let elapsed_ms = (start.elapsed().as_secs_f64() * 1_000.0 * rate) as u64;
        elapsed_ms / quantum_ms.max(1) * quantum_ms.max(1)
    };
    let wall = |script_ms: u64| {
        start + Duration::from_secs_f64((script_ms as f64 + half_step_ms) / 1_000.0 / rate)
    };
    let end = wall(duration_ms);
    let mut trunk_buffer = vec![0u8; 65_536];
    let mut phones_buffer = vec![0u8; 65_536];
    let mut output = RealClockOutput::default();
    loop {
        while let Some((source, transmit)) = peers.poll_transmit() {
            let socket = if source == trunk_address {
                &trunk
            } else {
                &phones
            };
            output.datagrams_sent += 1;
            if let Err(error) = socket.send_to(&transmit.bytes, transmit.destination).await {
                tracing::debug!(%error, "send failed");
            }
        }
        while let Some(command) = peers.poll_command() {
            if let Err(refusal) = api.send(&command).await {
                output
                    .refused_commands
                    .push(format!("at {} ms, {command:?}: {refusal}", now_ms()));
            }
        }
        if Instant::now() >= end {
            break;
        }
        let deadline = peers
            .poll_timeout()
            .map_or(end, |at_ms| wall(at_ms).min(end));
        tokio::select! {
            biased;
            received = trunk.recv_from(&mut trunk_buffer) => if let Ok((length, _)) = received {
                output.datagrams_received += 1;
                peers.handle_datagram(now_ms(), trunk_address, &trunk_buffer[..length]);
            },
            received = phones.recv_from(&mut phones_buffer) => if let Ok((length, _)) = received {
                output.datagrams_received += 1;
                peers.handle_datagram(now_ms(), phones_address, &phones_buffer[..length]);
            },
            _ = tokio::time::sleep_until(deadline) => peers.handle_timeout(now_ms()),
        }
    }
    Ok(output)
}

/// The scenario as a real-clock replay's server runs it: API token set to `token`, agents
/// logged in only by the script (no `auto_ready`), the contacts' attributes read from the
/// replay's header, phones without digest credentials (they
/// decide nothing about routing), media passed through.
pub fn serve_scenario(text: &str, token: &str) -> Result<String, toml_edit::TomlError> {
    let mut document: toml_edit::DocumentMut = text.parse()?;
    let live = &mut document["live"];
    live["api_token"] = toml_edit::value(token);
    live["auto_ready"] = toml_edit::value(false);
    live["attributes_header"] = toml_edit::value(crate::ATTRIBUTES_HEADER);
    live["allow_unauthenticated_agents"] = toml_edit::value(true);
    if let Some(table) = live.as_table_like_mut() {
        table.remove("secrets");
    }
    live["media"]["anchor"] = toml_edit::value(false);
    Ok(document.to_string())
}

/// The decisions the server wrote (`serve --decisions`) with contacts numbered as in the
/// script, by their callers; a contact the script does not know keeps the server's number,
/// moved far from the script's.
pub fn script_numbering(written: Vec<CallerDecision>) -> Vec<Decision> {
    let mut numbers = std::collections::BTreeMap::new();
    written
        .into_iter()
        .map(|line| {
            let mut decision = line.decision;
            if let Some(contact) = line.caller.as_deref().and_then(contact_of_caller) {
                numbers.insert(decision.contact, contact);
            }
            decision.contact = numbers
                .get(&decision.contact)
                .copied()
                .unwrap_or(decision.contact + 1_000_000_000);
            decision
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_results::script::DecisionKind;

    fn written(caller: Option<&str>, contact: u64, queue: &str) -> CallerDecision {
        CallerDecision {
            caller: caller.map(str::to_string),
            decision: Decision {
                time_ms: 0,
                contact,
                kind: DecisionKind::Queued {
                    queue: queue.into(),
                },
            },
        }
    }

    #[test]
    fn the_servers_contacts_take_the_numbers_their_callers_have_in_the_script() {
        // The server numbered c7 as 1 and c3 as 2; its contact 9 has no caller the script knows.
        let decisions = script_numbering(vec![
            written(Some("c7"), 1, "a"),
            written(Some("c3"), 2, "a"),
            written(None, 1, "b"),
            written(Some("trunk"), 9, "a"),
        ]);
        let contacts: Vec<u64> = decisions.iter().map(|decision| decision.contact).collect();
        assert_eq!(contacts, [7, 3, 7, 1_000_000_009]);
    }

    #[test]
    fn the_served_scenario_takes_the_token_and_leaves_routing_to_the_script() {
        let text = "[center]\nname = \"x\"\n\n[live]\nsecrets = \"s.toml\"\nauto_ready = true\n";
        let served: toml_edit::DocumentMut = serve_scenario(text, "t0k").unwrap().parse().unwrap();
        let live = &served["live"];
        assert_eq!(live["api_token"].as_str(), Some("t0k"));
        assert_eq!(live["auto_ready"].as_bool(), Some(false));
        assert_eq!(live["allow_unauthenticated_agents"].as_bool(), Some(true));
        assert!(live.get("secrets").is_none());
        assert_eq!(live["media"]["anchor"].as_bool(), Some(false));
        assert!(serve_scenario("[live", "t0k").is_err());
    }
}

//! Outbound HTTP for webhooks: a POST of one body to one URL, plain or over TLS (rustls, the
//! CAs of a PEM file), with a time limit on the whole exchange, and [`post_with_retries`], which
//! tries again with exponential backoff and jitter when the receiver is down or answers with a
//! status that may pass (5xx, 408, 429).
//!
//! One connection per request (HTTP/1.1, `Connection: close`): webhooks go out at the rate
//! contacts are offered, far below what would make a pool pay, and a fresh connection never
//! finds itself half-closed by the receiver's idle timer.
//!
//! Waits use real randomness for their jitter: this is the live runtime's side door to the
//! world, never the engine's or the simulator's, whose output stays a function of the seed.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::http::{header, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::streams::TlsConnector;

/// Where requests go: the parts of an `http://` or `https://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    pub host: String,
    pub port: u16,
    /// `host` or `host:port`, as the `Host` header names it.
    pub authority: String,
    pub path_and_query: String,
}

impl Target {
    /// An absolute `http://` or `https://` URL with a host; anything else is an error that
    /// says what was expected.
    pub fn parse(url: &str) -> Result<Target, String> {
        let expected = "expected an http:// or https:// URL with a host, such as \
                        \"https://crm.example.com/hooks/switchboard\"";
        let uri: Uri = url
            .parse()
            .map_err(|error| format!("{expected}, found {url:?} ({error})"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(format!("{expected}, found {url:?}")),
        };
        let Some(authority) = uri.authority() else {
            return Err(format!("{expected}, found {url:?}"));
        };
        if authority.as_str().contains('@') {
            return Err(format!(
                "{expected}, found {url:?}: credentials do not belong in the URL"
            ));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        if host.is_empty() {
            return Err(format!("{expected}, found {url:?}"));
        }
        Ok(Target {
            https,
            port: authority.port_u16().unwrap_or(if https { 443 } else { 80 }),
            authority: authority.as_str().to_string(),
            host,
            path_and_query: uri
                .path_and_query()
                .map_or("/".to_string(), |path| path.as_str().to_string()),
        })
    }
}

/// What a POST came to: the receiver's status, or why there was none.
pub type Answer = Result<u16, String>;

/// Posts bodies to one [`Target`].
#[derive(Clone)]
pub struct Client {
    target: Target,
    tls: Option<TlsConnector>,
    timeout: Duration,
}

impl Client {
    /// A client for `target`; an `https` target needs the CA certificates (PEM) to trust.
    pub fn new(
        target: Target,
        ca_certificates_pem: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Client, String> {
        let tls = match (target.https, ca_certificates_pem) {
            (false, _) => None,
            (true, Some(pem)) => Some(crate::streams::tls_connector(pem)?),
            (true, None) => return Err("an https URL needs CA certificates to trust".into()),
        };
        Ok(Client {
            target,
            tls,
            timeout,
        })
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// One POST of `body` (JSON) with `headers`, within the client's time limit: connecting,
    /// the TLS handshake, sending and the answer's head together.
    pub async fn post(&self, headers: &[(&str, String)], body: Bytes) -> Answer {
        self.post_reading(headers, body)
            .await
            .map(|(status, _)| status)
    }

    /// [`Client::post`], with the answer's body (read within the same time limit).
    pub async fn post_reading(
        &self,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> Result<(u16, Bytes), String> {
        match tokio::time::timeout(self.timeout, self.exchange(headers, body)).await {
            Ok(answer) => answer,
            Err(_) => Err(format!("no answer within {} ms", self.timeout.as_millis())),
        }
    }

    async fn exchange(
        &self,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> Result<(u16, Bytes), String> {
        let target = &self.target;
        let tcp = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|error| format!("cannot connect to {}: {error}", target.authority))?;
        let _ = tcp.set_nodelay(true);
        let mut request = Request::post(target.path_and_query.as_str())
            .header(header::HOST, target.authority.as_str())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONNECTION, "close")
            .header(
                header::USER_AGENT,
                concat!("switchboard/", env!("CARGO_PKG_VERSION")),
            );
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let request = request
            .body(Full::new(body))
            .map_err(|error| format!("cannot build the request: {error}"))?;
        match &self.tls {
            None => send(TokioIo::new(tcp), request).await,
            Some(connector) => {
                let name = rustls::pki_types::ServerName::try_from(target.host.clone())
                    .map_err(|error| format!("{}: {error}", target.host))?;
                let stream = connector
                    .connect(name, tcp)
                    .await
                    .map_err(|error| format!("TLS with {}: {error}", target.authority))?;
                send(TokioIo::new(stream), request).await
            }
        }
    }
}

async fn send<T>(io: TokioIo<T>, request: Request<Full<Bytes>>) -> Result<(u16, Bytes), String>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|error| format!("HTTP handshake: {error}"))?;
    // The connection is driven beside the request; it ends when both are done.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let response = sender
        .send_request(request)
        .await
        .map_err(|error| format!("HTTP: {error}"))?;
    let status = response.status().as_u16();
    // Read what the receiver says, bounded by the caller's time limit.
    let body = response
        .into_body()
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    Ok((status, body))
}

/// Whether a status means the request may succeed later: the receiver is busy or failing
/// (5xx), timed out reading it (408) or asks to slow down (429). Other 4xx would be refused
/// again: the body or the URL is wrong, and trying again only adds load.
pub fn worth_retrying(status: u16) -> bool {
    status >= 500 || status == 408 || status == 429
}

/// How long to wait before retry `retry` (0 for the first retry): `first_ms` doubled each
/// time up to `longest_ms`, then scaled by `jitter` (from 0.5 to 1.5), so that many senders
/// that failed together do not come back together.
pub fn backoff_ms(first_ms: u64, longest_ms: u64, retry: u32, jitter: f64) -> u64 {
    let doubled = first_ms.saturating_mul(1u64 << retry.min(30));
    (doubled.min(longest_ms) as f64 * jitter.clamp(0.5, 1.5)) as u64
}

/// A factor from 0.5 to 1.5 drawn from the system's randomness (1.0 when none is to be had).
pub fn jitter() -> f64 {
    let mut bytes = [0u8; 4];
    match getrandom::fill(&mut bytes) {
        Ok(()) => 0.5 + f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX),
        Err(_) => 1.0,
    }
}

/// How [`post_with_retries`] waits between attempts.
#[derive(Clone, Copy, Debug)]
pub struct Retries {
    /// Attempts after the first.
    pub retries: u32,
    pub first_backoff_ms: u64,
    pub longest_backoff_ms: u64,
}

/// The outcome of [`post_with_retries`]: the last answer and how many attempts it took.
#[derive(Debug)]
pub struct Delivery {
    pub attempts: u32,
    pub last: Answer,
}

impl Delivery {
    pub fn delivered(&self) -> bool {
        matches!(self.last, Ok(status) if (200..300).contains(&status))
    }
}

/// POST until a 2xx answer, a status not [`worth_retrying`], or `retries` retries spent.
/// `request` makes each attempt's headers and body anew (a signature carries its time).
pub async fn post_with_retries(
    client: &Client,
    retries: Retries,
    mut request: impl FnMut() -> (Vec<(&'static str, String)>, Bytes),
) -> Delivery {
    let mut attempts = 0;
    loop {
        let (headers, body) = request();
        let last = client.post(&headers, body).await;
        attempts += 1;
        let again = match &last {
            Ok(status) => worth_retrying(*status),
            Err(_) => true,
        };
        if !again || attempts > retries.retries {
            return Delivery { attempts, last };
        }
        let wait_ms = backoff_ms(
            retries.first_backoff_ms,
            retries.longest_backoff_ms,
            attempts - 1,
            jitter(),
        );
        tracing::debug!(
            url = %client.target.authority,
            attempt = attempts,
            answer = ?last,
            wait_ms,
            "webhook failed; trying again"
        );
        tokio::time::sleep(Duration::from_millis(wait_ms)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_and_wrong_ones_say_what_was_expected() {
        let target = Target::parse("https://crm.example.com/hooks/pop?x=1").unwrap();
        assert_eq!(
            target,
            Target {
                https: true,
                host: "crm.example.com".into(),
                port: 443,
                authority: "crm.example.com".into(),
                path_and_query: "/hooks/pop?x=1".into(),
            }
        );
        let target = Target::parse("http://127.0.0.1:8099").unwrap();
        assert_eq!((target.port, target.path_and_query.as_str()), (8099, "/"));
        for wrong in [
            "crm.example.com/hook",
            "ftp://crm.example.com/",
            "https://",
            "nope",
        ] {
            let error = Target::parse(wrong).unwrap_err();
            assert!(
                error.starts_with("expected an http:// or https:// URL"),
                "{error}"
            );
        }
        let error = Target::parse("https://user:pw@crm.example.com/").unwrap_err();
        assert!(error.contains("credentials"), "{error}");
    }

    #[test]
    fn backoff_doubles_up_to_its_bound_and_jitter_spreads_it() {
        let waits: Vec<u64> = (0..6)
            .map(|retry| backoff_ms(500, 5_000, retry, 1.0))
            .collect();
        assert_eq!(waits, [500, 1_000, 2_000, 4_000, 5_000, 5_000]);
        assert_eq!(backoff_ms(500, 5_000, 1, 0.5), 500);
        assert_eq!(backoff_ms(500, 5_000, 1, 1.5), 1_500);
        assert_eq!(backoff_ms(500, 5_000, 63, 1.0), 5_000, "no overflow");
        for _ in 0..100 {
            let factor = jitter();
            assert!((0.5..=1.5).contains(&factor), "{factor}");
        }
    }

    #[test]
    fn only_statuses_that_may_pass_are_retried() {
        for status in [500, 502, 503, 408, 429] {
            assert!(worth_retrying(status), "{status}");
        }
        for status in [200, 204, 400, 401, 403, 404, 410] {
            assert!(!worth_retrying(status), "{status}");
        }
    }
}

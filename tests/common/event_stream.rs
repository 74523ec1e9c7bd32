//! A client of the wallboard's Server-Sent Events over a plain socket: the request's headers
//! are the test's to choose (a bearer token, a cookie, `Last-Event-ID`), and every field of
//! every event, comments included, is seen as it arrives.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// One event as the stream sent it (the lines up to a blank one).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Message {
    pub event: Option<String>,
    pub id: Option<String>,
    pub retry: Option<u64>,
    pub data: String,
    pub comments: Vec<String>,
}

impl Message {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).unwrap_or_else(|error| panic!("{error}: {self:?}"))
    }
}

pub struct EventStream {
    pub status: u16,
    /// The response's header lines.
    pub head: String,
    /// The body of a refusal (empty for a stream).
    pub body: String,
    reader: BufReader<TcpStream>,
}

impl EventStream {
    /// `GET path` with `headers` (`Name: value` lines without line ends). HTTP/1.0, so that
    /// the stream comes without chunked framing.
    pub fn open(port: u16, path: &str, headers: &[String]) -> EventStream {
        EventStream::open_with_method(port, "GET", path, headers)
    }

    /// [`EventStream::open`] with another method (an empty body).
    pub fn open_with_method(
        port: u16,
        method: &str,
        path: &str,
        headers: &[String],
    ) -> EventStream {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut request = format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n");
        for header in headers {
            request.push_str(header);
            request.push_str("\r\n");
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        let mut reader = BufReader::new(stream);
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut head = String::new();
        while !head.ends_with("\r\n\r\n") {
            assert!(Instant::now() < deadline, "no response head: {head:?}");
            let _ = reader.read_line(&mut head);
        }
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let mut body = String::new();
        let streaming = head
            .to_ascii_lowercase()
            .contains("content-type: text/event-stream");
        if !streaming {
            reader
                .get_mut()
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let _ = reader.read_to_string(&mut body);
        }
        EventStream {
            status,
            head,
            body,
            reader,
        }
    }

    /// The value of the response's header `name` (case-insensitive), if any.
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
    }

    /// The next event within `limit`, or `None`.
    pub fn next(&mut self, limit: Duration) -> Option<Message> {
        let deadline = Instant::now() + limit;
        let mut message = Message::default();
        let mut any_line = false;
        let mut line = String::new();
        while Instant::now() < deadline {
            match self.reader.read_line(&mut line) {
                Ok(0) => return None,
                Ok(_) if line.ends_with('\n') => {}
                // A partial line or the read timeout: keep what was read, read on.
                _ => continue,
            }
            let text = line.trim_end_matches(['\r', '\n']).to_string();
            line.clear();
            if text.is_empty() {
                if any_line {
                    return Some(message);
                }
                continue;
            }
            any_line = true;
            if let Some(comment) = text.strip_prefix(':') {
                message.comments.push(comment.trim().to_string());
                continue;
            }
            let (field, value) = text.split_once(':').unwrap_or((&text, ""));
            let value = value.strip_prefix(' ').unwrap_or(value).to_string();
            match field {
                "event" => message.event = Some(value),
                "id" => message.id = Some(value),
                "retry" => message.retry = value.parse().ok(),
                "data" => {
                    if !message.data.is_empty() {
                        message.data.push('\n');
                    }
                    message.data.push_str(&value);
                }
                _ => {}
            }
        }
        None
    }

    /// Events until one satisfies `wanted` (returned) or `limit` passes (`None`).
    pub fn until(
        &mut self,
        limit: Duration,
        mut wanted: impl FnMut(&Message) -> bool,
    ) -> Option<Message> {
        let deadline = Instant::now() + limit;
        while let Some(message) = self.next(deadline.saturating_duration_since(Instant::now())) {
            if wanted(&message) {
                return Some(message);
            }
        }
        None
    }
}

//! SIP messages (RFC 3261 §7): parsing from bytes and serialization to bytes.
//!
//! The parser takes one UDP datagram and never panics, whatever the bytes: every index is
//! checked, every number is parsed with overflow checks, and the message size is bounded by
//! the datagram. It accepts what RFC 3261's grammar accepts even where it is unusual (line
//! folding, compact header names, odd but legal method tokens, unknown URI schemes, UTF-8
//! reason phrases) and rejects what would make the B2BUA guess (a Content-Length larger than
//! the body, a negative or overflowing number, a Request-URI with spaces or angle brackets,
//! two Call-IDs). A request the parser rejects but whose start line and routing headers it
//! could read carries enough in [`ParseError::partial`] to answer it with 400.

use std::fmt::Write as _;
use std::net::SocketAddr;

/// The largest message accepted: the largest UDP payload.
pub const MAX_MESSAGE_BYTES: usize = 65_535;
/// More header fields than this is treated as an attack, not a message.
pub const MAX_HEADER_FIELDS: usize = 512;

/// A SIP method. Unknown but well-formed methods are kept as `Other`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Invite,
    Ack,
    Bye,
    Cancel,
    Register,
    Options,
    Info,
    Prack,
    Update,
    Subscribe,
    Notify,
    Refer,
    Message,
    Publish,
    Other(String),
}

impl Method {
    pub fn from_token(token: &str) -> Method {
        // Methods are case-sensitive (RFC 3261 §7.1).
        match token {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "REGISTER" => Method::Register,
            "OPTIONS" => Method::Options,
            "INFO" => Method::Info,
            "PRACK" => Method::Prack,
            "UPDATE" => Method::Update,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            "REFER" => Method::Refer,
            "MESSAGE" => Method::Message,
            "PUBLISH" => Method::Publish,
            other => Method::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Info => "INFO",
            Method::Prack => "PRACK",
            Method::Update => "UPDATE",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Refer => "REFER",
            Method::Message => "MESSAGE",
            Method::Publish => "PUBLISH",
            Method::Other(token) => token,
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One header field, its name in the canonical long form (`v` becomes `Via`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// Header fields in message order. Lookups are case-insensitive on the canonical name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<Header>);

impl Headers {
    /// The first value of the field, trimmed.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|header| header.name.eq_ignore_ascii_case(name))
            .map(|header| header.value.as_str())
    }

    /// Every field line of that name, in order (a line may hold several comma-separated values).
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |header| header.name.eq_ignore_ascii_case(name))
            .map(|header| header.value.as_str())
    }

    pub fn count(&self, name: &str) -> usize {
        self.get_all(name).count()
    }

    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.0.push(Header {
            name: name.to_string(),
            value: value.into(),
        });
    }

    /// Replace every field of that name by one.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.remove(name);
        self.push(name, value);
    }

    pub fn remove(&mut self, name: &str) {
        self.0
            .retain(|header| !header.name.eq_ignore_ascii_case(name));
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// The Request-URI as written (validated to have a scheme and no whitespace).
    pub uri: String,
    pub headers: Headers,
    pub body: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Headers,
    pub body: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Request(Request),
    Response(Response),
}

impl Message {
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(request) => &request.headers,
            Message::Response(response) => &response.headers,
        }
    }
}

/// Why bytes were not accepted as a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub reason: String,
    /// The status a request that could be read this far deserves (400, or 505 for an
    /// unsupported version), with its header fields, so that it can be answered.
    pub partial: Option<(u16, Box<Request>)>,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for ParseError {}

fn error(reason: impl Into<String>) -> ParseError {
    ParseError {
        reason: reason.into(),
        partial: None,
    }
}

/// RFC 3261 `token` characters.
pub fn is_token_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&byte)
}

fn is_token(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(is_token_char)
}

/// The long form of a compact header name (RFC 3261 §7.3.3 and later extensions).
fn canonical_name(name: &str) -> String {
    let long = match name.to_ascii_lowercase().as_str() {
        "i" | "call-id" => "Call-ID",
        "m" | "contact" => "Contact",
        "e" | "content-encoding" => "Content-Encoding",
        "l" | "content-length" => "Content-Length",
        "c" | "content-type" => "Content-Type",
        "f" | "from" => "From",
        "s" | "subject" => "Subject",
        "k" | "supported" => "Supported",
        "t" | "to" => "To",
        "v" | "via" => "Via",
        "o" | "event" => "Event",
        "r" | "refer-to" => "Refer-To",
        "u" | "allow-events" => "Allow-Events",
        "cseq" => "CSeq",
        "max-forwards" => "Max-Forwards",
        "expires" => "Expires",
        "require" => "Require",
        "route" => "Route",
        "record-route" => "Record-Route",
        _ => return name.to_string(),
    };
    long.to_string()
}

/// Parse one datagram as a SIP message.
pub fn parse(bytes: &[u8]) -> Result<Message, ParseError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(error("message larger than a UDP datagram"));
    }
    // RFC 3261 §7.5: implementations should ignore CRLFs before the start line (keep-alives).
    let mut start = 0;
    while start + 1 < bytes.len() && &bytes[start..start + 2] == b"\r\n" {
        start += 2;
    }
    let bytes = &bytes[start..];
    let head_end = find(bytes, b"\r\n\r\n").ok_or_else(|| error("no empty line after headers"))?;
    let head = std::str::from_utf8(&bytes[..head_end])
        .map_err(|_| error("header section is not UTF-8"))?;
    let after_head = &bytes[head_end + 4..];

    let mut lines = head.split("\r\n");
    let start_line = lines.next().unwrap_or_default();
    enum Start {
        Request(Method, String, Option<u16>),
        Response(u16, String),
    }
    let start = if let Some(rest) = start_line.strip_prefix("SIP/") {
        let (version, rest) = rest
            .split_once(' ')
            .ok_or_else(|| error("bad status line"))?;
        if version != "2.0" {
            return Err(error("unsupported SIP version in response"));
        }
        let (code, reason) = match rest.split_once(' ') {
            Some((code, reason)) => (code, reason),
            None => (rest, ""),
        };
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(error("status code is not three digits"));
        }
        let status: u16 = code.parse().map_err(|_| error("bad status code"))?;
        if !(100..=699).contains(&status) {
            return Err(error("status code out of range"));
        }
        if reason.bytes().any(|b| b == b'\r' || b == b'\n') {
            return Err(error("control character in reason phrase"));
        }
        Start::Response(status, reason.to_string())
    } else {
        let mut parts = start_line.split(' ');
        let (Some(method), Some(uri), Some(version), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(error(
                "request line is not METHOD SP Request-URI SP SIP-Version",
            ));
        };
        if !is_token(method) {
            return Err(error("method is not a token"));
        }
        if !uri_is_plausible(uri) {
            return Err(error("Request-URI is not an absolute URI"));
        }
        let version_status = if version.eq_ignore_ascii_case("SIP/2.0") {
            None
        } else if version.len() > 4
            // Bytes, not str slices: a version with a multi-byte character across byte 4 must
            // be refused, not panic (found by the sip_message fuzz target).
            && version.as_bytes()[..4].eq_ignore_ascii_case(b"SIP/")
            && version.as_bytes()[4..]
                .iter()
                .all(|b| b.is_ascii_digit() || *b == b'.')
        {
            Some(505)
        } else {
            return Err(error("bad SIP version"));
        };
        Start::Request(Method::from_token(method), uri.to_string(), version_status)
    };

    // Header fields, unfolding continuation lines (RFC 3261 §7.3.1).
    let mut headers = Headers::default();
    let mut header_problem: Option<String> = None;
    for line in lines {
        if line.starts_with(' ') || line.starts_with('\t') {
            match headers.0.last_mut() {
                Some(last) => {
                    last.value.push(' ');
                    last.value.push_str(line.trim());
                    continue;
                }
                None => {
                    header_problem.get_or_insert("continuation line before any header".into());
                    continue;
                }
            }
        }
        let Some((name, value)) = line.split_once(':') else {
            header_problem.get_or_insert(format!("header line without a colon: {line:.40}"));
            continue;
        };
        let name = name.trim_end_matches([' ', '\t']);
        if !is_token(name) {
            header_problem.get_or_insert("header name is not a token".into());
            continue;
        }
        if headers.0.len() >= MAX_HEADER_FIELDS {
            return Err(error("too many header fields"));
        }
        headers.push(&canonical_name(name), value.trim());
    }

    let body_result = body_of(&headers, after_head);
    match start {
        Start::Response(status, reason) => {
            if let Some(problem) = header_problem {
                return Err(error(problem));
            }
            let body = body_result?;
            Ok(Message::Response(Response {
                status,
                reason,
                headers,
                body,
            }))
        }
        Start::Request(method, uri, version_status) => {
            let request = Request {
                method,
                uri,
                headers,
                body: Vec::new(),
            };
            let reject = |status: u16, reason: String, request: Request| ParseError {
                reason,
                partial: Some((status, Box::new(request))),
            };
            if let Some(status) = version_status {
                return Err(reject(status, "unsupported SIP version".into(), request));
            }
            if let Some(problem) = header_problem {
                return Err(reject(400, problem, request));
            }
            let body = match body_result {
                Ok(body) => body,
                Err(problem) => return Err(reject(400, problem.reason, request)),
            };
            let request = Request { body, ..request };
            match validate_request(&request) {
                Ok(()) => Ok(Message::Request(request)),
                Err(problem) => Err(reject(400, problem, request)),
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// An absolute URI: a scheme, a colon, then no whitespace and no angle brackets.
fn uri_is_plausible(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once(':') else {
        return false;
    };
    !scheme.is_empty()
        && scheme.as_bytes()[0].is_ascii_alphabetic()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        && !rest.is_empty()
        && !rest
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b == b'<' || b == b'>' || b.is_ascii_control())
}

fn body_of(headers: &Headers, after_head: &[u8]) -> Result<Vec<u8>, ParseError> {
    let lengths: Vec<&str> = headers.get_all("Content-Length").collect();
    match lengths.as_slice() {
        // Over UDP the body is the rest of the datagram (RFC 3261 §18.3).
        [] => Ok(after_head.to_vec()),
        [length] => {
            let length = parse_decimal(length)
                .filter(|length| *length <= MAX_MESSAGE_BYTES as u64)
                .ok_or_else(|| error("Content-Length is not a number of bytes"))?
                as usize;
            if length > after_head.len() {
                return Err(error("Content-Length larger than the body received"));
            }
            // Bytes after the body are discarded (a second message in the datagram).
            Ok(after_head[..length].to_vec())
        }
        _ => Err(error("more than one Content-Length")),
    }
}

/// A non-negative decimal that fits in a u64, with nothing else around it.
pub fn parse_decimal(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The header fields every request needs before a UAS can answer it, well formed.
fn validate_request(request: &Request) -> Result<(), String> {
    let headers = &request.headers;
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        if headers.get(name).is_none() {
            return Err(format!("missing {name}"));
        }
    }
    for name in ["From", "To", "Call-ID", "CSeq", "Max-Forwards", "Expires"] {
        if headers.count(name) > 1 {
            return Err(format!("more than one {name}"));
        }
    }
    let via = Via::parse_first(headers.get("Via").unwrap_or_default())
        .ok_or("malformed top Via".to_string())?;
    if via.branch().is_none_or(str::is_empty) {
        return Err("top Via has no branch".into());
    }
    let (_, cseq_method) =
        parse_cseq(headers.get("CSeq").unwrap_or_default()).ok_or("malformed CSeq".to_string())?;
    if cseq_method != request.method {
        return Err("CSeq method does not match the request method".into());
    }
    for name in ["From", "To"] {
        NameAddr::parse(headers.get(name).unwrap_or_default())
            .ok_or(format!("malformed {name}"))?;
    }
    if headers.get("Call-ID").is_some_and(str::is_empty) {
        return Err("empty Call-ID".into());
    }
    if let Some(max_forwards) = headers.get("Max-Forwards") {
        if parse_decimal(max_forwards).is_none_or(|hops| hops > 255) {
            return Err("Max-Forwards is not 0 to 255".into());
        }
    }
    if let Some(expires) = headers.get("Expires") {
        if parse_decimal(expires).is_none_or(|seconds| seconds > u32::MAX as u64) {
            return Err("Expires is not a number of seconds".into());
        }
    }
    for contacts in headers.get_all("Contact") {
        if contacts.trim() == "*" {
            continue;
        }
        for contact in split_list(contacts) {
            NameAddr::parse(contact).ok_or("malformed Contact".to_string())?;
        }
    }
    Ok(())
}

/// Split a header value at commas that are outside quotes and angle brackets.
pub fn split_list(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut in_quotes = false;
    let mut escaped = false;
    let mut angle_depth = 0u32;
    let mut start = 0;
    for (index, character) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match character {
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '<' if !in_quotes => angle_depth += 1,
            '>' if !in_quotes => angle_depth = angle_depth.saturating_sub(1),
            ',' if !in_quotes && angle_depth == 0 => {
                parts.push(value[start..index].trim());
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(value[start..].trim());
    parts.retain(|part| !part.is_empty());
    parts
}

/// `;name=value;flag` parameters, in order. Names are kept as written.
pub type Parameters = Vec<(String, Option<String>)>;

fn parse_parameters(text: &str) -> Option<Parameters> {
    let mut parameters = Vec::new();
    for part in text.split(';') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (name, value) = match part.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().to_string())),
            None => (part, None),
        };
        if !is_token(name) {
            return None;
        }
        if let Some(value) = &value {
            let quoted = value.len() >= 2 && value.starts_with('"') && value.ends_with('"');
            if value.is_empty() || (!quoted && value.bytes().any(|b| b.is_ascii_whitespace())) {
                return None;
            }
        }
        parameters.push((name.to_string(), value));
    }
    Some(parameters)
}

fn parameter<'a>(parameters: &'a Parameters, name: &str) -> Option<&'a str> {
    parameters
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_deref().unwrap_or(""))
}

/// The CSeq sequence number and method.
pub fn parse_cseq(value: &str) -> Option<(u32, Method)> {
    let mut parts = value.split_whitespace();
    let number = parse_decimal(parts.next()?)?;
    let method = parts.next()?;
    if parts.next().is_some() || !is_token(method) || number > u32::MAX as u64 {
        return None;
    }
    Some((number as u32, Method::from_token(method)))
}

/// A Via value: `SIP/2.0/UDP host:port;branch=...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Via {
    pub transport: String,
    pub host: String,
    pub port: Option<u16>,
    pub parameters: Parameters,
}

impl Via {
    /// The first Via value of a header line.
    pub fn parse_first(line: &str) -> Option<Via> {
        Via::parse(split_list(line).first()?)
    }

    pub fn parse(value: &str) -> Option<Via> {
        // LWS may surround the slashes of the protocol (RFC 3261 §25.1, SLASH = SWS "/" SWS).
        let mut compact = String::with_capacity(value.len());
        let mut pending_space = false;
        for character in value.trim().chars() {
            if character.is_whitespace() {
                pending_space = true;
                continue;
            }
            if pending_space && character != '/' && !compact.ends_with('/') {
                compact.push(' ');
            }
            pending_space = false;
            compact.push(character);
        }
        let (protocol, rest) = compact.split_once(' ')?;
        let mut protocol_parts = protocol.split('/');
        let (Some(name), Some(version), Some(transport), None) = (
            protocol_parts.next(),
            protocol_parts.next(),
            protocol_parts.next(),
            protocol_parts.next(),
        ) else {
            return None;
        };
        if !is_token(name) || !is_token(version) || !is_token(transport) {
            return None;
        }
        let rest = rest.trim();
        let (sent_by, parameters) = match rest.split_once(';') {
            Some((sent_by, parameters)) => (sent_by.trim(), parse_parameters(parameters)?),
            None => (rest, Vec::new()),
        };
        let (host, port) = split_host_port(sent_by)?;
        Some(Via {
            transport: transport.to_ascii_uppercase(),
            host,
            port,
            parameters,
        })
    }

    pub fn branch(&self) -> Option<&str> {
        parameter(&self.parameters, "branch")
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(text: &str) -> Option<(String, Option<u16>)> {
    if text.is_empty() || text.bytes().any(|b| b.is_ascii_whitespace()) {
        return None;
    }
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            port => Some(port.strip_prefix(':')?),
        };
        (format!("[{host}]"), port)
    } else {
        match text.split_once(':') {
            Some((host, port)) => (host.to_string(), Some(port)),
            None => (text.to_string(), None),
        }
    };
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._[]:".contains(&b))
    {
        return None;
    }
    let port = match port {
        Some(port) => Some(
            parse_decimal(port)
                .filter(|port| *port <= u16::MAX as u64)
                .map(|port| port as u16)?,
        ),
        None => None,
    };
    Some((host, port))
}

/// A From, To or Contact value: an optional display name, a URI, header parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAddr {
    pub display: Option<String>,
    pub uri: String,
    pub parameters: Parameters,
}

impl NameAddr {
    pub fn parse(value: &str) -> Option<NameAddr> {
        let value = value.trim();
        let (display, uri, parameters_text) = if let Some(open) = find_unquoted(value, '<') {
            let display = value[..open].trim();
            if !display.is_empty() && !display_is_valid(display) {
                return None;
            }
            let after = &value[open + 1..];
            let close = after.find('>')?;
            let uri = &after[..close];
            let rest = after[close + 1..].trim();
            let parameters_text = if rest.is_empty() {
                ""
            } else {
                rest.strip_prefix(';')?
            };
            let display = (!display.is_empty()).then(|| display.trim_matches('"').to_string());
            (display, uri, parameters_text)
        } else {
            // addr-spec form: header parameters start at the first ';', and a '?' or ','
            // would be ambiguous (RFC 3261 §20).
            if value.contains('"') {
                return None;
            }
            let (uri, parameters_text) = match value.split_once(';') {
                Some((uri, rest)) => (uri.trim(), rest),
                None => (value, ""),
            };
            if uri.contains('?') || uri.contains(',') {
                return None;
            }
            (None, uri, parameters_text)
        };
        if !uri_is_plausible(uri) {
            return None;
        }
        Some(NameAddr {
            display,
            uri: uri.to_string(),
            parameters: parse_parameters(parameters_text)?,
        })
    }

    pub fn tag(&self) -> Option<&str> {
        parameter(&self.parameters, "tag")
    }

    pub fn parameter(&self, name: &str) -> Option<&str> {
        parameter(&self.parameters, name)
    }
}

fn find_unquoted(text: &str, wanted: char) -> Option<usize> {
    let mut in_quotes = false;
    let mut escaped = false;
    for (index, character) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if in_quotes && character == '\\' {
            escaped = true;
        } else if character == '"' {
            in_quotes = !in_quotes;
        } else if character == wanted && !in_quotes {
            return Some(index);
        }
    }
    None
}

/// A display name: a quoted string whose quotes balance, or tokens separated by spaces.
fn display_is_valid(display: &str) -> bool {
    if let Some(inner) = display.strip_prefix('"') {
        let mut escaped = false;
        for (index, character) in inner.char_indices() {
            if escaped {
                escaped = false;
            } else if character == '\\' {
                escaped = true;
            } else if character == '"' {
                return inner[index + 1..].trim().is_empty();
            }
        }
        false
    } else {
        display
            .split_whitespace()
            .all(|word| word.bytes().all(is_token_char))
    }
}

/// The parts of a `sip:` or `sips:` URI a B2BUA needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipUri {
    pub scheme: String,
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    pub parameters: Parameters,
}

impl SipUri {
    /// `None` for other schemes or a malformed URI.
    pub fn parse(uri: &str) -> Option<SipUri> {
        let (scheme, rest) = uri.split_once(':')?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "sip" && scheme != "sips" {
            return None;
        }
        let rest = rest.split_once('?').map_or(rest, |(before, _)| before);
        let (user, host_part) = match rest.rsplit_once('@') {
            Some((user, host)) => (Some(user), host),
            None => (None, rest),
        };
        let (host_port, parameters) = match host_part.split_once(';') {
            Some((host_port, parameters)) => (host_port, parse_parameters(parameters)?),
            None => (host_part, Vec::new()),
        };
        let (host, port) = split_host_port(host_port)?;
        let user = match user {
            // The user part ends at ':' (a password) and may carry ';' (RFC 3261 §19.1.1).
            Some(user) => {
                let user = user.split_once(':').map_or(user, |(user, _)| user);
                if user.is_empty() {
                    return None;
                }
                Some(percent_decode(user))
            }
            None => None,
        };
        Some(SipUri {
            scheme,
            user,
            host,
            port,
            parameters,
        })
    }
}

/// Decode `%XX` escapes; a malformed escape is kept as written.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' && index + 2 < bytes.len() {
            let high = (bytes[index + 1] as char).to_digit(16);
            let low = (bytes[index + 2] as char).to_digit(16);
            if let (Some(high), Some(low)) = (high, low) {
                out.push((high * 16 + low) as u8);
                index += 3;
                continue;
            }
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Serialize with a Content-Length that matches the body, whatever the headers said.
fn write_message(start_line: &str, headers: &Headers, body: &[u8]) -> Vec<u8> {
    let mut text = String::with_capacity(256 + headers.0.len() * 48);
    text.push_str(start_line);
    text.push_str("\r\n");
    for header in &headers.0 {
        if header.name.eq_ignore_ascii_case("Content-Length") {
            continue;
        }
        let _ = write!(text, "{}: {}\r\n", header.name, header.value);
    }
    let _ = write!(text, "Content-Length: {}\r\n\r\n", body.len());
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

impl Request {
    pub fn to_bytes(&self) -> Vec<u8> {
        write_message(
            &format!("{} {} SIP/2.0", self.method, self.uri),
            &self.headers,
            &self.body,
        )
    }

    pub fn call_id(&self) -> &str {
        self.headers.get("Call-ID").unwrap_or_default()
    }

    pub fn cseq(&self) -> Option<(u32, Method)> {
        parse_cseq(self.headers.get("CSeq")?)
    }

    pub fn top_via(&self) -> Option<Via> {
        Via::parse_first(self.headers.get("Via")?)
    }

    pub fn from(&self) -> Option<NameAddr> {
        NameAddr::parse(self.headers.get("From")?)
    }

    pub fn to(&self) -> Option<NameAddr> {
        NameAddr::parse(self.headers.get("To")?)
    }

    /// Write where the request came from into its top Via, so that every response built from
    /// it carries it: `received` when the sent-by host is not the source's address (RFC 3261
    /// §18.2.1), and, when the sender asked with an empty `rport`, `rport` set to the source's
    /// port with `received` always (RFC 3581 §4). Responses go to the source address in any
    /// case; these parameters tell a phone behind NAT its public address and port.
    pub fn stamp_source(&mut self, source: SocketAddr) {
        let Some(header) = self
            .headers
            .0
            .iter_mut()
            .find(|header| header.name.eq_ignore_ascii_case("Via"))
        else {
            return;
        };
        let values = split_list(&header.value);
        let Some(first) = values.first() else {
            return;
        };
        let Some(via) = Via::parse(first) else {
            return;
        };
        let wants_port = via
            .parameters
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("rport"));
        let host_differs = !via
            .host
            .trim_matches(['[', ']'])
            .eq_ignore_ascii_case(&source.ip().to_string());
        if !wants_port && !host_differs {
            return;
        }
        let mut parts: Vec<String> = first
            .split(';')
            .map(|part| part.trim().to_string())
            .filter(|part| {
                let name = part.split('=').next().unwrap_or_default().trim();
                !name.eq_ignore_ascii_case("received") && !name.eq_ignore_ascii_case("rport")
            })
            .collect();
        parts.push(format!("received={}", source.ip()));
        if wants_port {
            parts.push(format!("rport={}", source.port()));
        }
        let mut stamped = parts.join(";");
        for rest in &values[1..] {
            stamped.push_str(", ");
            stamped.push_str(rest);
        }
        header.value = stamped;
    }

    /// Whether the sender asked for symmetric response routing (an `rport` in its top Via,
    /// RFC 3581): it is reachable where its packets come from, not where its headers say.
    pub fn asks_for_rport(&self) -> bool {
        self.top_via().is_some_and(|via| {
            via.parameters
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("rport"))
        })
    }

    /// A response to this request (RFC 3261 §8.2.6): Via, From, To, Call-ID and CSeq copied,
    /// and a To tag added when one is given and the To has none.
    pub fn response(&self, status: u16, reason: &str, to_tag: Option<&str>) -> Response {
        let mut headers = Headers::default();
        for line in self.headers.get_all("Via") {
            headers.push("Via", line);
        }
        for name in ["From", "To", "Call-ID", "CSeq"] {
            if let Some(value) = self.headers.get(name) {
                let value = match (name, to_tag) {
                    ("To", Some(tag)) if self.to().is_some_and(|to| to.tag().is_none()) => {
                        format!("{value};tag={tag}")
                    }
                    _ => value.to_string(),
                };
                headers.push(name, value);
            }
        }
        Response {
            status,
            reason: reason.to_string(),
            headers,
            body: Vec::new(),
        }
    }
}

impl Response {
    pub fn to_bytes(&self) -> Vec<u8> {
        write_message(
            &format!("SIP/2.0 {} {}", self.status, self.reason),
            &self.headers,
            &self.body,
        )
    }

    pub fn cseq(&self) -> Option<(u32, Method)> {
        parse_cseq(self.headers.get("CSeq")?)
    }

    pub fn top_via(&self) -> Option<Via> {
        Via::parse_first(self.headers.get("Via")?)
    }

    pub fn to(&self) -> Option<NameAddr> {
        NameAddr::parse(self.headers.get("To")?)
    }

    pub fn call_id(&self) -> &str {
        self.headers.get("Call-ID").unwrap_or_default()
    }
}

impl Message {
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Message::Request(request) => request.to_bytes(),
            Message::Response(response) => response.to_bytes(),
        }
    }
}

/// The standard reason phrase of a status code this runtime sends.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        182 => "Queued",
        183 => "Session Progress",
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        483 => "Too Many Hops",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "Version Not Supported",
        603 => "Decline",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:sales@127.0.0.1 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n\
        Max-Forwards: 70\r\n\
        From: \"Caller\" <sip:caller@127.0.0.1:5070>;tag=a1\r\n\
        To: <sip:sales@127.0.0.1>\r\n\
        Call-ID: call-1@127.0.0.1\r\n\
        CSeq: 1 INVITE\r\n\
        Contact: <sip:caller@127.0.0.1:5070>\r\n\
        Content-Type: application/sdp\r\n\
        Content-Length: 4\r\n\r\nv=0\n";

    fn request_with_via(via: &str) -> Request {
        let text = INVITE.replacen("Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1", via, 1);
        let Message::Request(request) = parse(text.as_bytes()).unwrap() else {
            panic!("expected a request");
        };
        request
    }

    #[test]
    fn an_empty_rport_gets_the_source_port_and_received_in_every_response() {
        let mut request = request_with_via(
            "Via: SIP/2.0/UDP 192.168.1.20:5060;rport;branch=z9hG4bK-1, SIP/2.0/UDP 10.0.0.9",
        );
        request.stamp_source("203.0.113.7:40123".parse().unwrap());
        let response = request.response(200, "OK", None);
        assert_eq!(
            response.headers.get("Via"),
            Some(
                "SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-1;received=203.0.113.7;\
                 rport=40123, SIP/2.0/UDP 10.0.0.9"
            )
        );
        assert!(request.asks_for_rport());
    }

    #[test]
    fn a_sent_by_that_is_not_the_source_gets_received_only() {
        let mut request = request_with_via("Via: SIP/2.0/UDP phone.example:5060;branch=z9hG4bK-1");
        request.stamp_source("198.51.100.3:5060".parse().unwrap());
        assert_eq!(
            request.headers.get("Via"),
            Some("SIP/2.0/UDP phone.example:5060;branch=z9hG4bK-1;received=198.51.100.3")
        );
        assert!(!request.asks_for_rport());
        // Sent from where its Via says, without rport: left as it was.
        let mut request = request_with_via("Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1");
        request.stamp_source("127.0.0.1:5070".parse().unwrap());
        assert_eq!(
            request.headers.get("Via"),
            Some("SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1")
        );
    }

    #[test]
    fn a_version_with_a_multi_byte_character_across_byte_four_is_refused() {
        // The sip_message fuzz target's crash: "S\x7f猝S..." puts byte 4 inside a character.
        let message = INVITE.replacen("SIP/2.0\r\n", "S\u{7f}猝S/2.0\r\n", 1);
        assert!(parse(message.as_bytes()).is_err());
        let message = INVITE.replacen("SIP/2.0\r\n", "SIP/猝\r\n", 1);
        assert!(parse(message.as_bytes()).is_err());
    }

    #[test]
    fn parses_an_invite_and_serializes_it_back() {
        let Message::Request(request) = parse(INVITE.as_bytes()).unwrap() else {
            panic!("expected a request");
        };
        assert_eq!(request.method, Method::Invite);
        assert_eq!(request.uri, "sip:sales@127.0.0.1");
        assert_eq!(request.body, b"v=0\n");
        assert_eq!(request.top_via().unwrap().branch(), Some("z9hG4bK-1"));
        assert_eq!(request.from().unwrap().tag(), Some("a1"));
        assert_eq!(request.cseq(), Some((1, Method::Invite)));
        let again = parse(&request.to_bytes()).unwrap();
        assert_eq!(again, Message::Request(request));
    }

    #[test]
    fn compact_names_and_folding_are_understood() {
        let text = "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bKx\r\n\
            f: <sip:a@h>;tag=1\r\nt: sip:x@127.0.0.1\r\ni: abc\r\nCSeq:\r\n  7\r\n\tOPTIONS\r\nl: 0\r\n\r\n";
        let Message::Request(request) = parse(text.as_bytes()).unwrap() else {
            panic!();
        };
        assert_eq!(request.call_id(), "abc");
        assert_eq!(request.cseq(), Some((7, Method::Options)));
    }

    #[test]
    fn a_response_gets_the_request_headers_and_a_to_tag() {
        let Message::Request(request) = parse(INVITE.as_bytes()).unwrap() else {
            panic!();
        };
        let response = request.response(486, "Busy Here", Some("b2"));
        let Message::Response(parsed) = parse(&response.to_bytes()).unwrap() else {
            panic!();
        };
        assert_eq!(parsed.status, 486);
        assert_eq!(parsed.to().unwrap().tag(), Some("b2"));
        assert_eq!(parsed.cseq(), Some((1, Method::Invite)));
    }

    #[test]
    fn sip_uris_give_user_host_and_port() {
        let uri = SipUri::parse("sip:sales-team-1@127.0.0.1:5071;transport=udp").unwrap();
        assert_eq!(uri.user.as_deref(), Some("sales-team-1"));
        assert_eq!(uri.host, "127.0.0.1");
        assert_eq!(uri.port, Some(5071));
        assert_eq!(SipUri::parse("tel:+1234"), None);
        assert_eq!(
            SipUri::parse("sip:%61lice@h").unwrap().user.as_deref(),
            Some("alice")
        );
    }

    #[test]
    fn percent_decode_never_reads_past_the_end() {
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("a%41"), "aA");
    }
}

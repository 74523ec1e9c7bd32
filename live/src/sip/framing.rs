//! SIP over a byte stream (TCP, TLS): cutting the stream into messages (RFC 3261 §18.3).
//!
//! Over a stream the header section ends at the first empty line and the body is exactly
//! Content-Length bytes; that header field is mandatory there. [`StreamFramer`] is sans-IO: the
//! connection task pushes whatever it read and takes out whole messages, which then go through
//! the same parser and transaction layer as UDP datagrams. CRLFs between messages are
//! keep-alives (RFC 5626 §3.5.1) and are skipped. A stream that cannot be framed — no
//! Content-Length, one that is not a number, several that disagree, a header section or body
//! larger than [`MAX_MESSAGE_BYTES`] — has lost its framing for good: the framer answers
//! [`FramingError`] and the connection is closed. It never panics and never holds more than
//! one message's worth of bytes beyond what it was given.

use std::collections::VecDeque;

use super::message::MAX_MESSAGE_BYTES;

/// Why a stream was given up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FramingError(pub String);

impl std::fmt::Display for FramingError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// Cuts a byte stream into SIP messages; see the module documentation.
#[derive(Debug, Default)]
pub struct StreamFramer {
    buffer: Vec<u8>,
    /// Content-Length of the message whose header section is complete, with that section's
    /// length (empty line included), once known.
    pending: Option<(usize, usize)>,
    messages: VecDeque<Vec<u8>>,
    broken: bool,
}

impl StreamFramer {
    /// Add bytes read from the stream. After an error the framer stays broken: everything
    /// after a framing error is noise.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), FramingError> {
        if self.broken {
            return Err(FramingError("the stream lost its framing".into()));
        }
        self.buffer.extend_from_slice(bytes);
        let result = self.cut();
        if result.is_err() {
            self.broken = true;
            self.buffer = Vec::new();
        }
        result
    }

    /// The next whole message, in stream order.
    pub fn poll_message(&mut self) -> Option<Vec<u8>> {
        self.messages.pop_front()
    }

    /// Bytes held that are not a whole message yet.
    pub fn buffered_len(&self) -> usize {
        self.buffer.len()
    }

    fn cut(&mut self) -> Result<(), FramingError> {
        loop {
            if self.pending.is_none() {
                // Keep-alives and stray line ends between messages.
                let blank = self
                    .buffer
                    .iter()
                    .take_while(|byte| matches!(byte, b'\r' | b'\n'))
                    .count();
                self.buffer.drain(..blank);
                let Some(end) = find(&self.buffer, b"\r\n\r\n") else {
                    if self.buffer.len() > MAX_MESSAGE_BYTES {
                        return Err(FramingError(format!(
                            "no end of the header section within {MAX_MESSAGE_BYTES} bytes"
                        )));
                    }
                    return Ok(());
                };
                let head_len = end + 4;
                let length = content_length(&self.buffer[..end])?;
                if head_len + length > MAX_MESSAGE_BYTES {
                    return Err(FramingError(format!(
                        "a message of {} bytes is larger than {MAX_MESSAGE_BYTES}",
                        head_len + length
                    )));
                }
                self.pending = Some((head_len, length));
            }
            let (head_len, length) = self.pending.expect("set above");
            if self.buffer.len() < head_len + length {
                return Ok(());
            }
            let rest = self.buffer.split_off(head_len + length);
            let message = std::mem::replace(&mut self.buffer, rest);
            self.messages.push_back(message);
            self.pending = None;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The Content-Length of a header section (start line and header lines, without the empty
/// line). Folded lines (a line starting with white space) continue the previous one.
fn content_length(head: &[u8]) -> Result<usize, FramingError> {
    let mut lengths = Vec::new();
    let mut lines = head.split(|byte| *byte == b'\n').skip(1).peekable();
    while let Some(line) = lines.next() {
        let Some(colon) = line.iter().position(|byte| *byte == b':') else {
            continue;
        };
        let name = String::from_utf8_lossy(&line[..colon]);
        let name = name.trim();
        if !(name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l")) {
            continue;
        }
        let mut value = String::from_utf8_lossy(&line[colon + 1..]).into_owned();
        while let Some(next) = lines.peek() {
            if !next
                .first()
                .is_some_and(|byte| matches!(byte, b' ' | b'\t'))
            {
                break;
            }
            value.push_str(&String::from_utf8_lossy(next));
            lines.next();
        }
        let value = value.trim();
        let length = value
            .parse::<usize>()
            .ok()
            .filter(|_| value.bytes().all(|byte| byte.is_ascii_digit()))
            .ok_or_else(|| {
                FramingError(format!("Content-Length {value:?} is not a number of bytes"))
            })?;
        lengths.push(length);
    }
    match lengths.as_slice() {
        [] => Err(FramingError(
            "no Content-Length: a message on a stream must have one (RFC 3261 §18.3)".into(),
        )),
        [first, rest @ ..] if rest.iter().all(|length| length == first) => Ok(*first),
        _ => Err(FramingError(
            "Content-Length given twice, differently".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> Vec<u8> {
        format!(
            "OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK1\r\n\
             Call-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    fn drain(framer: &mut StreamFramer) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| framer.poll_message()).collect()
    }

    #[test]
    fn messages_split_anywhere_come_out_whole_and_in_order() {
        let first = message("v=0\r\n");
        let second = message("");
        let mut stream = b"\r\n\r\n".to_vec();
        stream.extend_from_slice(&first);
        stream.extend_from_slice(b"\r\n");
        stream.extend_from_slice(&second);
        for cut in 0..stream.len() {
            let mut framer = StreamFramer::default();
            framer.push(&stream[..cut]).unwrap();
            framer.push(&stream[cut..]).unwrap();
            assert_eq!(
                drain(&mut framer),
                vec![first.clone(), second.clone()],
                "cut {cut}"
            );
            assert_eq!(framer.buffered_len(), 0);
        }
    }

    #[test]
    fn a_body_with_an_empty_line_inside_is_kept_whole() {
        let whole = message("a\r\n\r\nb");
        let mut framer = StreamFramer::default();
        framer.push(&whole).unwrap();
        assert_eq!(drain(&mut framer), vec![whole]);
    }

    #[test]
    fn the_compact_form_and_folded_lines_are_read() {
        let text = b"BYE sip:a@h SIP/2.0\r\nl :\r\n  3\r\n\r\nabc";
        let mut framer = StreamFramer::default();
        framer.push(text).unwrap();
        assert_eq!(drain(&mut framer), vec![text.to_vec()]);
    }

    #[test]
    fn a_stream_without_framing_is_given_up_for_good() {
        for head in [
            "BYE sip:a@h SIP/2.0\r\nCall-ID: c\r\n\r\n",
            "BYE sip:a@h SIP/2.0\r\nContent-Length: ten\r\n\r\n",
            "BYE sip:a@h SIP/2.0\r\nContent-Length: -1\r\n\r\n",
            "BYE sip:a@h SIP/2.0\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "BYE sip:a@h SIP/2.0\r\nContent-Length: 70000\r\n\r\n",
        ] {
            let mut framer = StreamFramer::default();
            assert!(framer.push(head.as_bytes()).is_err(), "{head:?}");
            assert!(
                framer.push(&message("")).is_err(),
                "still broken after {head:?}"
            );
            assert!(framer.poll_message().is_none());
        }
        let mut framer = StreamFramer::default();
        assert!(framer.push(&vec![b'x'; MAX_MESSAGE_BYTES + 1]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_in_any_pieces_never_panic_or_grow_unbounded(
            pieces in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..300), 0..20)
        ) {
            let mut framer = StreamFramer::default();
            for piece in &pieces {
                if framer.push(piece).is_err() {
                    break;
                }
                proptest::prop_assert!(framer.buffered_len() <= MAX_MESSAGE_BYTES + piece.len());
                while let Some(message) = framer.poll_message() {
                    proptest::prop_assert!(message.len() <= MAX_MESSAGE_BYTES);
                }
            }
        }
    }
}

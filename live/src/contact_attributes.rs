//! Contact attributes carried in a SIP header (`[live] attributes_header`, `docs/live.md`): a
//! trunk, an SBC or a front-end IVR in front of the switch names what it knows of the caller
//! (`tier=vip;order=A-1234`), and the engine routes on it as the simulator does on a
//! `[[traffic]]` attribute mix. The replay sends a script's attributes this way
//! (`docs/agreement.md`).
//!
//! The value is `name=value` pairs separated by `;`, each name and value percent-encoded (RFC
//! 3986 section 2.1) so that any text survives a header line: every byte but the unreserved
//! `A-Z a-z 0-9 - . _ ~` may be written `%XX`, and `;`, `=`, `%`, `,`, spaces and non-ASCII
//! text must be. What a header holds is bounded and checked; a value that is not such a list
//! is an error naming the pair and what was expected, never a panic.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Pairs one INVITE may carry.
pub const MAX_ATTRIBUTES: usize = 32;
/// Bytes of one decoded name or value at most.
pub const MAX_ATTRIBUTE_BYTES: usize = 256;
/// Attributes the switch sets itself on every call; a header may not name them.
pub const RESERVED: [&str; 2] = ["entry_point", "caller"];

/// Everything but RFC 3986's unreserved characters is encoded.
const ENCODED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The header value for `attributes`, in order.
pub fn format_attributes(attributes: &[(String, String)]) -> String {
    attributes
        .iter()
        .map(|(name, value)| {
            format!(
                "{}={}",
                utf8_percent_encode(name, ENCODED),
                utf8_percent_encode(value, ENCODED)
            )
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// The attributes of the header values `values` (every line of the header, in order).
pub fn parse_attributes<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<(String, String)>, String> {
    let mut attributes: Vec<(String, String)> = Vec::new();
    for value in values {
        for (index, pair) in value.split(';').enumerate() {
            let pair = pair.trim();
            if pair.is_empty() {
                continue;
            }
            let at = || format!("pair {} ({pair:?})", index + 1);
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("{}: expected name=value", at()))?;
            let decode = |text: &str, what: &str| -> Result<String, String> {
                if let Some(position) = text.char_indices().find_map(|(position, c)| {
                    (c == '%'
                        && !text
                            .get(position + 1..position + 3)
                            .is_some_and(|hex| hex.chars().all(|c| c.is_ascii_hexdigit())))
                    .then_some(position)
                }) {
                    return Err(format!(
                        "{}: the {what} has a '%' at byte {position} not followed by two hex \
                         digits",
                        at()
                    ));
                }
                let decoded = percent_decode_str(text)
                    .decode_utf8()
                    .map_err(|_| format!("{}: the {what} is not UTF-8 once decoded", at()))?;
                if decoded.len() > MAX_ATTRIBUTE_BYTES {
                    return Err(format!(
                        "{}: the {what} is {} bytes long, more than {MAX_ATTRIBUTE_BYTES}",
                        at(),
                        decoded.len()
                    ));
                }
                Ok(decoded.into_owned())
            };
            let name = decode(name.trim(), "name")?;
            let value = decode(value.trim(), "value")?;
            if name.is_empty() {
                return Err(format!("{}: expected a name before '='", at()));
            }
            if RESERVED.contains(&name.as_str()) {
                return Err(format!(
                    "{}: {name:?} is set by the switch itself and cannot be given",
                    at()
                ));
            }
            if attributes.iter().any(|(known, _)| *known == name) {
                return Err(format!("{}: {name:?} is given twice", at()));
            }
            if attributes.len() == MAX_ATTRIBUTES {
                return Err(format!(
                    "more than {MAX_ATTRIBUTES} attributes: expected at most {MAX_ATTRIBUTES} pairs"
                ));
            }
            attributes.push((name, value));
        }
    }
    Ok(attributes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn attributes_survive_the_header_whatever_their_text() {
        let attributes = pairs(&[
            ("tier", "vip"),
            ("order", "A-1234; rush=yes"),
            ("语言", "中文 50%"),
            ("empty", ""),
        ]);
        let header = format_attributes(&attributes);
        assert!(header.is_ascii() && !header.contains(' '), "{header}");
        assert_eq!(header.matches(';').count(), 3, "{header}");
        assert_eq!(parse_attributes([header.as_str()]).unwrap(), attributes);
        // Several header lines add up, in order.
        assert_eq!(
            parse_attributes(["tier=vip", " order = 7 ;"]).unwrap(),
            pairs(&[("tier", "vip"), ("order", "7")])
        );
    }

    #[test]
    fn a_header_that_is_not_a_list_of_pairs_is_refused_with_the_pair_and_why() {
        let error = |value: &str| parse_attributes([value]).unwrap_err();
        assert_eq!(
            error("tier=vip;gold"),
            "pair 2 (\"gold\"): expected name=value"
        );
        assert!(error("=vip").contains("expected a name before '='"));
        assert!(error("tier=50%").contains("a '%' at byte 2 not followed by two hex digits"));
        assert!(error("tier=%FF").contains("not UTF-8"));
        assert!(error("caller=123").contains("set by the switch itself"));
        assert!(error("tier=a;tier=b").contains("given twice"));
        let long = format!("tier={}", "x".repeat(MAX_ATTRIBUTE_BYTES + 1));
        assert!(error(&long).contains("more than 256"));
        let many: Vec<String> = (0..=MAX_ATTRIBUTES).map(|i| format!("a{i}=1")).collect();
        assert!(error(&many.join(";")).starts_with("more than 32 attributes"));
    }
}

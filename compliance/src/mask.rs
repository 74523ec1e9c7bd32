//! PII masking: personal data found in text is replaced by the masked forms Chinese systems
//! show, before the text reaches a CDR, a log line, an API answer, a transcript or an export.
//!
//! | detector | finds | masked form |
//! |---|---|---|
//! | `mobile` | mainland mobile numbers: 11 digits `1[3-9]…`, optionally after `86`/`+86` | `180****1999` (first 3, last 4) |
//! | `resident-id` | 18-character resident identity numbers whose last character is the ISO 7064 MOD 11-2 check of the first 17 and whose birth date is a real date | `513231********169X` (region code and last 4: the birth date is hidden) |
//! | `bank-card` | 13–19 digits, optionally in groups split by one space or `-`, passing the Luhn check | `4111 **** **** 1111` (first 4, last 4, grouping kept) |
//! | `email` | `local@domain.tld` | `zha***@example.com` (first 3 of the local part, or 1 when it is short) |
//!
//! A number is only a candidate when no letter or digit touches it on either side, so an
//! order number that happens to contain eleven digits starting with 13 is left alone. Check
//! digits (resident IDs, bank cards) keep random numbers of the right length from being
//! masked. E-mail addresses are found first, so `13800138000@163.com` is masked as an address.

use std::borrow::Cow;
use std::ops::Range;

use serde::{Deserialize, Serialize};

/// One kind of personal data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Detector {
    Mobile,
    ResidentId,
    BankCard,
    Email,
}

impl Detector {
    pub const ALL: [Detector; 4] = [
        Detector::Mobile,
        Detector::ResidentId,
        Detector::BankCard,
        Detector::Email,
    ];
}

/// Personal data found in a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub detector: Detector,
    /// Bytes of the text.
    pub range: Range<usize>,
    pub masked: String,
}

/// The detectors in force.
///
/// ```
/// use switchboard_compliance::mask::Masker;
/// let masker = Masker::all();
/// assert_eq!(
///     masker.mask("手机18012341999，身份证51323120001212169X，卡号4111 1111 1111 1111"),
///     "手机180****1999，身份证513231********169X，卡号4111 **** **** 1111"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Masker {
    mobile: bool,
    resident_id: bool,
    bank_card: bool,
    email: bool,
}

impl Default for Masker {
    fn default() -> Self {
        Masker::all()
    }
}

fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
}

/// ISO 7064 MOD 11-2 check character of the first 17 digits of a resident identity number
/// (GB 11643-1999).
pub fn resident_id_check_character(first_17: &[u8]) -> Option<u8> {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    if first_17.len() != 17 || !first_17.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = first_17
        .iter()
        .zip(WEIGHTS)
        .map(|(digit, weight)| u32::from(digit - b'0') * weight)
        .sum();
    Some(CHECK[(sum % 11) as usize])
}

/// Whether 18 characters are a resident identity number: 17 digits, a birth date that exists
/// (years 1900–2099), and the right check character (`X` in either case).
pub fn is_resident_id(candidate: &[u8]) -> bool {
    if candidate.len() != 18 {
        return false;
    }
    let Some(check) = resident_id_check_character(&candidate[..17]) else {
        return false;
    };
    let number = |range: Range<usize>| {
        candidate[range]
            .iter()
            .fold(0u32, |value, digit| value * 10 + u32::from(digit - b'0'))
    };
    let (year, month, day) = (number(6..10), number(10..12), number(12..14));
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1900..=2099).contains(&year)
        && (1..=days_in_month).contains(&day)
        && candidate[17].to_ascii_uppercase() == check
}

/// The Luhn check (ISO/IEC 7812-1) over a string of digits.
pub fn passes_luhn(digits: &[u8]) -> bool {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(position, digit)| {
            let value = u32::from(digit - b'0');
            if position % 2 == 1 {
                let doubled = value * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                value
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn is_mobile(digits: &[u8]) -> bool {
    digits.len() == 11 && digits[0] == b'1' && (b'3'..=b'9').contains(&digits[1])
}

fn is_local_part_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-')
}

impl Masker {
    /// Every detector.
    pub fn all() -> Masker {
        Masker::new(&Detector::ALL)
    }

    pub fn new(detectors: &[Detector]) -> Masker {
        Masker {
            mobile: detectors.contains(&Detector::Mobile),
            resident_id: detectors.contains(&Detector::ResidentId),
            bank_card: detectors.contains(&Detector::BankCard),
            email: detectors.contains(&Detector::Email),
        }
    }

    /// Every piece of personal data in the text, in order, not overlapping.
    pub fn find(&self, text: &str) -> Vec<Finding> {
        let bytes = text.as_bytes();
        let mut findings = Vec::new();
        if self.email {
            self.find_emails(text, &mut findings);
        }
        let emails = findings.clone();
        let inside_email = |position: usize| {
            emails
                .iter()
                .any(|finding| finding.range.contains(&position))
        };
        let mut position = 0;
        while position < bytes.len() {
            let starts_number = bytes[position].is_ascii_digit()
                && (position == 0 || !is_word_byte(bytes[position - 1]));
            if !starts_number || inside_email(position) {
                position += 1;
                continue;
            }
            let run_end = position
                + bytes[position..]
                    .iter()
                    .take_while(|byte| byte.is_ascii_digit())
                    .count();
            let run = &bytes[position..run_end];
            let after = |end: usize| end >= bytes.len() || !is_word_byte(bytes[end]);
            // An 18-character resident ID: 18 digits, or 17 and X.
            if self.resident_id {
                let end = if run.len() == 17
                    && run_end < bytes.len()
                    && bytes[run_end].eq_ignore_ascii_case(&b'x')
                {
                    run_end + 1
                } else {
                    run_end
                };
                if end - position == 18 && after(end) && is_resident_id(&bytes[position..end]) {
                    let id = &text[position..end];
                    findings.push(Finding {
                        detector: Detector::ResidentId,
                        range: position..end,
                        masked: format!("{}********{}", &id[..6], &id[14..]),
                    });
                    position = end;
                    continue;
                }
            }
            if self.mobile && after(run_end) {
                let national = if run.len() == 13 && run.starts_with(b"86") {
                    Some(2)
                } else if run.len() == 11 {
                    Some(0)
                } else {
                    None
                };
                if let Some(prefix) = national.filter(|&prefix| is_mobile(&run[prefix..])) {
                    let number = &text[position..run_end];
                    findings.push(Finding {
                        detector: Detector::Mobile,
                        range: position..run_end,
                        masked: format!("{}****{}", &number[..prefix + 3], &number[prefix + 7..]),
                    });
                    position = run_end;
                    continue;
                }
            }
            if self.bank_card {
                if let Some(finding) = card_at(text, position) {
                    position = finding.range.end;
                    findings.push(finding);
                    continue;
                }
            }
            position = run_end;
        }
        findings.sort_by_key(|finding| finding.range.start);
        findings
    }

    fn find_emails(&self, text: &str, findings: &mut Vec<Finding>) {
        let bytes = text.as_bytes();
        let mut searched_to = 0;
        for at in memchr_all(bytes, b'@') {
            if at < searched_to {
                continue;
            }
            let start = at
                - bytes[..at]
                    .iter()
                    .rev()
                    .take_while(|byte| is_local_part_byte(**byte))
                    .count();
            let mut end = at
                + 1
                + bytes[at + 1..]
                    .iter()
                    .take_while(|byte| is_domain_byte(**byte))
                    .count();
            while end > at + 1 && matches!(bytes[end - 1], b'.' | b'-') {
                end -= 1;
            }
            let local = &text[start..at];
            let domain = &text[at + 1..end];
            let top_level = domain.rsplit('.').next().unwrap_or("");
            let valid = !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with(['.', '-'])
                && !domain.contains("..")
                && top_level.len() >= 2
                && top_level.bytes().all(|byte| byte.is_ascii_alphabetic());
            if valid {
                let kept = if local.len() > 3 { 3 } else { 1 };
                findings.push(Finding {
                    detector: Detector::Email,
                    range: start..end,
                    masked: format!("{}***@{}", &local[..kept], domain),
                });
                searched_to = end;
            }
        }
    }

    /// The text with every piece of personal data masked.
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let findings = self.find(text);
        if findings.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut masked = String::with_capacity(text.len());
        let mut copied = 0;
        for finding in findings {
            masked.push_str(&text[copied..finding.range.start]);
            masked.push_str(&finding.masked);
            copied = finding.range.end;
        }
        masked.push_str(&text[copied..]);
        Cow::Owned(masked)
    }

    /// Mask every string of a JSON value in place (API answers, exported records). Keys are
    /// left alone: they are the program's names, not data.
    pub fn mask_json(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(text) => {
                if let Cow::Owned(masked) = self.mask(text) {
                    *text = masked;
                }
            }
            serde_json::Value::Array(items) => {
                items.iter_mut().for_each(|item| self.mask_json(item))
            }
            serde_json::Value::Object(fields) => {
                fields.values_mut().for_each(|field| self.mask_json(field))
            }
            _ => {}
        }
    }
}

fn memchr_all(bytes: &[u8], needle: u8) -> impl Iterator<Item = usize> + '_ {
    bytes
        .iter()
        .enumerate()
        .filter(move |(_, byte)| **byte == needle)
        .map(|(position, _)| position)
}

/// A bank card number starting at `start`: groups of digits split by one space or `-`,
/// 13–19 digits in all, passing Luhn. The longest such number wins; a shorter prefix of
/// whole groups is tried when the longest fails.
fn card_at(text: &str, start: usize) -> Option<Finding> {
    let bytes = text.as_bytes();
    // (end of group, digits so far)
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut position = start;
    let mut digits = 0;
    loop {
        let group_end = position
            + bytes[position..]
                .iter()
                .take_while(|byte| byte.is_ascii_digit())
                .count();
        digits += group_end - position;
        if digits > 19 {
            break;
        }
        groups.push((group_end, digits));
        let next = group_end + 1;
        let separated = group_end < bytes.len()
            && matches!(bytes[group_end], b' ' | b'-')
            && next < bytes.len()
            && bytes[next].is_ascii_digit();
        if !separated {
            break;
        }
        position = next;
    }
    for &(end, count) in groups.iter().rev() {
        if count < 13 {
            break;
        }
        if end < bytes.len() && is_word_byte(bytes[end]) {
            continue;
        }
        let number = &text[start..end];
        let only_digits: Vec<u8> = number.bytes().filter(u8::is_ascii_digit).collect();
        if !passes_luhn(&only_digits) {
            continue;
        }
        let mut seen = 0;
        let masked: String = number
            .chars()
            .map(|character| {
                if character.is_ascii_digit() {
                    seen += 1;
                    if seen <= 4 || seen > count - 4 {
                        character
                    } else {
                        '*'
                    }
                } else {
                    character
                }
            })
            .collect();
        return Some(Finding {
            detector: Detector::BankCard,
            range: start..end,
            masked,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_id_check_digits() {
        // Valid: the issue's vector, and others built with the check computed by hand.
        for valid in [
            "51323120001212169X",
            "51323120001212169x",
            "11010519491231002X",
        ] {
            assert!(is_resident_id(valid.as_bytes()), "{valid}");
        }
        for invalid in [
            "513231200012121293", // the issue's invalid vector: wrong check digit
            "513231200013121690", // month 13
            "513231200002301697", // 30 February
            "51323120001212169",  // 17 characters
            "5132312000121216XX",
        ] {
            assert!(!is_resident_id(invalid.as_bytes()), "{invalid}");
        }
        assert_eq!(
            resident_id_check_character(b"51323120001212169"),
            Some(b'X')
        );
    }

    #[test]
    fn luhn_vectors() {
        for valid in [
            "4111111111111111",
            "6222020200112233446",
            "5500000000000004",
            "79927398713",
        ] {
            assert!(passes_luhn(valid.as_bytes()), "{valid}");
        }
        for invalid in ["4111111111111112", "79927398710", "", "41111a"] {
            assert!(!passes_luhn(invalid.as_bytes()), "{invalid}");
        }
    }

    #[test]
    fn mobile_numbers() {
        let masker = Masker::all();
        assert_eq!(masker.mask("18012341999"), "180****1999");
        assert_eq!(masker.mask("请拨13800138000。"), "请拨138****8000。");
        assert_eq!(masker.mask("+8613800138000"), "+86138****8000");
        assert_eq!(masker.mask("+86 13800138000"), "+86 138****8000");
        // Not a mobile: 12 or 10 digits, a second digit of 2, digits touching letters.
        for kept in [
            "180123419990",
            "1801234199",
            "12012341999",
            "A18012341999",
            "order 2018012341999",
        ] {
            assert_eq!(masker.mask(kept), kept, "{kept}");
        }
    }

    #[test]
    fn resident_ids_in_text() {
        let masker = Masker::all();
        assert_eq!(
            masker.mask("身份证号51323120001212169X已核实"),
            "身份证号513231********169X已核实"
        );
        assert_eq!(masker.mask("513231200012121293"), "513231200012121293");
    }

    #[test]
    fn bank_cards_in_text() {
        let masker = Masker::all();
        assert_eq!(masker.mask("4111 1111 1111 1111"), "4111 **** **** 1111");
        assert_eq!(masker.mask("卡号4111111111111111"), "卡号4111********1111");
        assert_eq!(
            masker.mask("4111-1111-1111-1111 ok"),
            "4111-****-****-1111 ok"
        );
        assert_eq!(
            masker.mask("6222 0202 0011 2233 446"),
            "6222 **** **** ***3 446"
        );
        // Fails Luhn: kept.
        assert_eq!(masker.mask("4111 1111 1111 1112"), "4111 1111 1111 1112");
        // A card followed by a short unrelated number: the card's groups alone pass.
        assert_eq!(
            masker.mask("4111 1111 1111 1111 23"),
            "4111 **** **** 1111 23"
        );
    }

    #[test]
    fn emails() {
        let masker = Masker::all();
        assert_eq!(masker.mask("zhangsan@example.com"), "zha***@example.com");
        assert_eq!(masker.mask("邮箱: li@qq.com。"), "邮箱: l***@qq.com。");
        assert_eq!(masker.mask("13800138000@163.com"), "138***@163.com");
        for kept in ["@example.com", "user@localhost", "a@b.c", "x@.com"] {
            assert_eq!(masker.mask(kept), kept, "{kept}");
        }
    }

    #[test]
    fn detectors_are_configurable() {
        let only_mail = Masker::new(&[Detector::Email]);
        assert_eq!(
            only_mail.mask("18012341999 a.b@example.cn"),
            "18012341999 a***@example.cn"
        );
        let no_mail = Masker::new(&[Detector::Mobile, Detector::BankCard]);
        assert_eq!(no_mail.mask("zhangsan@example.com"), "zhangsan@example.com");
        assert_eq!(
            no_mail.mask("51323120001212169X"),
            "51323120001212169X",
            "resident IDs off"
        );
    }

    #[test]
    fn json_strings_are_masked_keys_are_not() {
        let mut value = serde_json::json!({
            "caller": "13800138000",
            "notes": ["card 4111111111111111", 42],
            "13800138000": true,
        });
        Masker::all().mask_json(&mut value);
        assert_eq!(value["caller"], "138****8000");
        assert_eq!(value["notes"][0], "card 4111********1111");
        assert_eq!(value["13800138000"], true);
    }

    proptest::proptest! {
        #[test]
        fn masking_never_panics_and_keeps_clean_text(text in "\\PC{0,80}") {
            let masker = Masker::all();
            let masked = masker.mask(&text);
            if masker.find(&text).is_empty() {
                proptest::prop_assert_eq!(masked.as_ref(), text.as_str());
            }
        }
    }
}

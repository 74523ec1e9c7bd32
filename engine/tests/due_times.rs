//! Tickets' due times: `due = { within, calendar }` on a queue, counted in the calendar's open
//! hours from the instant the contact joins, or in wall time without a calendar.

use switchboard_engine::{Center, CenterConfig, QueueId};

const SHOP: &str = r#"
[center]
start = "2026-11-10T20:00:00+08:00"

[[site]]
name = "hangzhou"
timezone = "Asia/Shanghai"

[[calendar]]
name = "office"
site = "hangzhou"
hours = { mon-fri = "08:00-22:00" }
holidays = ["2026-11-11"]

[[queue]]
name = "email"
channel = "email"
due = { within = "4h", calendar = "office" }

[[queue]]
name = "forms"
channel = "email"
due = { within = "24h" }

[[queue]]
name = "voice"
channel = "voice"
"#;

const HOUR_MS: u64 = 3_600_000;
const MINUTE_MS: u64 = 60_000;

fn center(text: &str) -> Center {
    let config: CenterConfig = toml::from_str(text).expect("the configuration parses");
    Center::new(config).expect("the configuration is valid")
}

#[test]
fn business_hours_due_times_skip_nights_holidays_and_weekends() {
    let shop = center(SHOP);
    let email = QueueId(0);
    // Time 0 is Tuesday 20:00 Shanghai time. At 21:50 ten minutes of Tuesday are left; Wednesday
    // 2026-11-11 is a holiday, so the other 3 h 50 min run from Thursday 08:00 to 11:50.
    let joined_ms = HOUR_MS + 50 * MINUTE_MS;
    let thursday_1150_ms = 24 * HOUR_MS + 15 * HOUR_MS + 50 * MINUTE_MS;
    assert_eq!(shop.due_time_ms(email, joined_ms), Some(thursday_1150_ms));
    // Friday 21:00 (3 days and 1 h after time 0): one hour on Friday, three from Monday 08:00.
    let friday_2100_ms = 3 * 24 * HOUR_MS + HOUR_MS;
    let monday_1100_ms = 5 * 24 * HOUR_MS + 15 * HOUR_MS;
    assert_eq!(
        shop.due_time_ms(email, friday_2100_ms),
        Some(monday_1100_ms)
    );
    // Wall time without a calendar; no due time for a queue without one.
    assert_eq!(
        shop.due_time_ms(QueueId(1), joined_ms),
        Some(joined_ms + 24 * HOUR_MS)
    );
    assert_eq!(shop.due_time_ms(QueueId(2), joined_ms), None);
    assert_eq!(shop.due_time_ms(QueueId(9), joined_ms), None);
}

#[test]
fn a_due_time_naming_no_calendar_or_a_closed_one_or_lasting_nothing_is_refused() {
    let text = SHOP
        .replace(r#"due = { within = "24h" }"#, r#"due = { within = "0s" }"#)
        .replace(r#"calendar = "office" }"#, r#"calendar = "ofice" }"#)
        + r#"
[[calendar]]
name = "never"
hours = { mon = "closed" }

[[queue]]
name = "archive"
channel = "email"
due = { within = "1h", calendar = "never" }
"#;
    let config: CenterConfig = toml::from_str(&text).unwrap();
    let Err(error) = Center::new(config) else {
        panic!("the configuration should be refused");
    };
    let problems: Vec<(&str, &str)> = error
        .problems
        .iter()
        .map(|problem| (problem.path.as_str(), problem.message.as_str()))
        .collect();
    assert_eq!(
        problems,
        [
            (
                "queue[0].due.calendar",
                "no [[calendar]] is named \"ofice\""
            ),
            (
                "queue[1].due.within",
                "expected a due time longer than 0s, such as \"4h\""
            ),
            (
                "queue[3].due.calendar",
                "calendar \"never\" is never open, so nothing would ever be due"
            ),
        ]
    );
    let misspelt = SHOP.replace("within = \"24h\"", "witin = \"24h\"");
    let error = toml::from_str::<CenterConfig>(&misspelt).unwrap_err();
    assert!(
        error.to_string().contains("unknown field `witin`"),
        "{error}"
    );
}

//! Tickets' due times: `due = { within, calendar }` on a queue, counted in the calendar's open
//! hours from the instant the contact joins, or in wall time without a calendar; and
//! `callback_due`, the same counted from a callback request.

mod common;

use common::config_problems;
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
    let problems = config_problems(&text);
    let problems: Vec<(&str, &str)> = problems
        .iter()
        .map(|(path, message)| (path.as_str(), message.as_str()))
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

/// A voice queue whose callback requests are promised within 2 open hours of the office.
const CALLBACKS: &str = r#"
[[queue]]
name = "hotline"
channel = "voice"
max_wait = "10m"
on_max_wait = "callback"
callback_due = { within = "2h", calendar = "office" }

[[queue]]
name = "web-callbacks"
channel = "callback"
callback_due = { within = "30m" }

[[queue]]
name = "offered"
channel = "voice"
callback_due = { within = "1h" }

[[queue]]
name = "sales"
channel = "voice"
due = { within = "8h" }

[[ivr]]
name = "main"
start = "offer"

[[ivr.node]]
id = "offer"
kind = "callback"
queue = "offered"
prompt = "we-call-you"
duration = "5s"
declined = "join"

[[ivr.node]]
id = "join"
kind = "queue"
queue = "sales"
"#;

#[test]
fn a_callback_request_is_due_counted_from_the_request_by_its_queues_callback_due() {
    let shop = center(&format!("{SHOP}{CALLBACKS}"));
    let (hotline, web, offered, sales) = (QueueId(3), QueueId(4), QueueId(5), QueueId(6));
    // Requested on Tuesday at 21:30 (1 h 30 min after time 0): 30 open minutes on Tuesday,
    // Wednesday a holiday, the other 1 h 30 min from Thursday 08:00 to 09:30.
    let requested_ms = HOUR_MS + 30 * MINUTE_MS;
    let thursday_0930_ms = 37 * HOUR_MS + 30 * MINUTE_MS;
    assert_eq!(
        shop.callback_due_time_ms(hotline, requested_ms),
        Some(thursday_0930_ms)
    );
    assert_eq!(
        shop.callback_due_time_ms(web, requested_ms),
        Some(requested_ms + 30 * MINUTE_MS)
    );
    assert_eq!(
        shop.callback_due_time_ms(offered, requested_ms),
        Some(requested_ms + HOUR_MS)
    );
    // A promise is not a ticket's `due`, nor the other way round.
    assert_eq!(shop.due_time_ms(hotline, requested_ms), None);
    assert_eq!(shop.callback_due_time_ms(sales, requested_ms), None);
    assert_eq!(shop.callback_due_time_ms(QueueId(0), requested_ms), None);
    assert_eq!(shop.callback_due_time_ms(QueueId(99), requested_ms), None);
}

#[test]
fn a_callback_due_on_a_queue_without_callbacks_or_not_for_voice_is_refused() {
    let text = format!(
        "{SHOP}{}",
        CALLBACKS
            .replace(
                "on_max_wait = \"callback\"\ncallback_due = { within = \"2h\", calendar = \"office\" }",
                "callback_due = { within = \"0s\", calendar = \"ofice\" }",
            )
            .replace(
                "channel = \"voice\"\ndue = { within = \"8h\" }",
                "channel = \"voice\"\ncallback_due = { within = \"8h\" }",
            )
    )
    .replace(
        "channel = \"email\"\ndue = { within = \"24h\" }",
        "channel = \"email\"\ncallback_due = { within = \"24h\" }",
    );
    let problems = config_problems(&text);
    let problems: Vec<(&str, &str)> = problems
        .iter()
        .map(|(path, message)| (path.as_str(), message.as_str()))
        .collect();
    let no_callbacks = "this queue takes no callback requests: give it `channel = \"callback\"` or `on_max_wait = \"callback\"`, or name it in an IVR `callback` node";
    assert_eq!(
        problems,
        [
            (
                "queue[1].callback_due",
                "`callback_due` is for voice queues: a callback is a call back to the customer"
            ),
            ("queue[3].callback_due", no_callbacks),
            (
                "queue[3].callback_due.within",
                "expected a due time longer than 0s, such as \"4h\""
            ),
            (
                "queue[3].callback_due.calendar",
                "no [[calendar]] is named \"ofice\""
            ),
            ("queue[6].callback_due", no_callbacks),
        ]
    );
}

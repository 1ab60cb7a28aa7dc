use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;

use super::*;

fn pairs(expr: &str, window: u32) -> Vec<(String, String)> {
    parse(expr)
        .unwrap()
        .triggers(window)
        .unwrap()
        .into_iter()
        .map(|t| (t.start, t.end))
        .collect()
}

fn owned(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(s, e)| (s.to_string(), e.to_string()))
        .collect()
}

#[test]
fn the_window_is_clamped_between_5_and_55_minutes() {
    assert_eq!(window_minutes(120), 5);
    assert_eq!(window_minutes(1800), 31);
    assert_eq!(window_minutes(0), 5);
    assert_eq!(window_minutes(-5), 5);
    assert_eq!(window_minutes(100_000), 55);
}

#[test]
fn a_window_inside_the_hour_keeps_the_hour() {
    assert_eq!(
        pairs("10 3 * * *", 5),
        owned(&[("10 3 * * *", "15 3 * * *")])
    );
    assert_eq!(
        pairs("4 23 31 12 *", 55),
        owned(&[("4 23 31 12 *", "59 23 31 12 *")])
    );
}

#[test]
fn a_window_that_crosses_the_hour_moves_every_hour() {
    assert_eq!(
        pairs("50 * * * *", 31),
        owned(&[("50 * * * *", "21 * * * *")])
    );
    assert_eq!(
        pairs("45 1,5 * * *", 20),
        owned(&[("45 1,5 * * *", "5 2,6 * * *")])
    );
    assert_eq!(
        pairs("45 9-17 * * *", 20),
        owned(&[("45 9-17 * * *", "5 10-18 * * *")])
    );
    assert_eq!(
        pairs("45 */6 * * *", 20),
        owned(&[("45 0,6,12,18 * * *", "5 1,7,13,19 * * *")])
    );
    // Every day: 23:xx wraps to 00:xx and the day fields stay.
    assert_eq!(
        pairs("45 20-23 * * *", 20),
        owned(&[("45 20-23 * * *", "5 0,21-23 * * *")])
    );
}

#[test]
fn a_window_that_crosses_midnight_on_chosen_days_ends_on_the_next_days() {
    assert_eq!(
        pairs("50 23 * * 1", 31),
        owned(&[("50 23 * * 1", "21 0 * * 2")])
    );
    assert_eq!(
        pairs("50 23 * * sat", 31),
        owned(&[("50 23 * * 6", "21 0 * * 0")])
    );
    assert_eq!(
        pairs("50 23 1 * *", 31),
        owned(&[("50 23 1 * *", "21 0 2 * *")])
    );
    assert_eq!(
        pairs("50 23 15 * 1", 31),
        owned(&[("50 23 15 * 1", "21 0 16 * 2")])
    );
    // The other hours keep their days, in a trigger of their own.
    assert_eq!(
        pairs("50 9,23 * * 1-5", 31),
        owned(&[
            ("50 9 * * 1-5", "21 10 * * 1-5"),
            ("50 23 * * 1-5", "21 0 * * 2-6"),
        ])
    );
    // Month ends: the day after the 28th to the 31st is a 29th to 31st or a 1st.
    assert_eq!(
        pairs("50 23 28-31 * *", 31),
        owned(&[("50 23 28-31 * *", "21 0 1,29-31 * *")])
    );
    assert_eq!(
        pairs("50 23 * 12 *", 31),
        owned(&[
            ("50 23 * 12 *", "21 0 1 1 *"),
            ("50 23 * 12 *", "21 0 2-31 12 *"),
        ])
    );
}

#[test]
fn a_window_that_ends_on_days_no_cron_can_select_is_refused() {
    let problem = parse("50 23 28 2 *").unwrap().triggers(31).unwrap_err();
    assert_eq!(
        problem,
        "cron \"50 23 28 2 *\" with a 31-minute window has no exact KEDA encoding: the window \
         from 23:50 on Friday 2025-02-28 ends at 00:21 on Saturday 2025-03-01, and a UTC cron \
         that fires then also fires on Wednesday 2028-03-01 (the same day of March) or on \
         Saturday 2025-03-08 (the same weekday in March), when no window ends; schedules that \
         work: \"50 23 28,29 2 *\", \"28 23 28 2 *\" (the window ends within the hour) or \
         \"50 22 28 2 *\""
    );
    // The same schedule with a window that stays within the hour is fine.
    assert_eq!(
        pairs("50 23 28 2 *", 5),
        owned(&[("50 23 28 2 *", "55 23 28 2 *")])
    );
}

#[test]
fn fields_are_written_back_as_numbers_ranges_and_lists() {
    for (written, read) in [
        ("0 * * * *", "0 * * * *"),
        ("0  2,14\t* * MON-FRI", "0 2,14 * * 1-5"),
        ("0 0 ? * 7", "0 0 * * 0"),
        ("0 0 * jan-mar,dec sun", "0 0 * 1-3,12 0"),
        ("0 */8 */10 * *", "0 0,8,16 1,11,21,31 * *"),
        ("0 0-23/12 * * 5-7", "0 0,12 * * 0,5,6"),
        ("0 0 1-31 * *", "0 0 * * *"),
        ("0 0 01 * *", "0 0 1 * *"),
        // Both day fields restricted: either one; a full one makes every day.
        ("0 0 1-31 * 1", "0 0 * * *"),
        ("0 0 5 * 0-6", "0 0 * * *"),
        ("0 0 5,6 * 1", "0 0 5,6 * 1"),
    ] {
        assert_eq!(parse(written).unwrap().expression(), read, "{written}");
    }
}

#[test]
fn the_minute_must_be_a_single_integer() {
    assert_eq!(
        parse("*/5 * * * *").unwrap_err(),
        "the minute field of cron \"*/5 * * * *\" must be a single integer 0-59, found \"*/5\""
    );
    assert!(parse("0,30 * * * *").is_err());
    assert!(parse("60 * * * *").is_err());
}

#[test]
fn five_fields_are_required() {
    assert_eq!(
        parse("0 * * *").unwrap_err(),
        "cron \"0 * * *\" must have 5 fields (minute hour day month weekday), found 4"
    );
    assert_eq!(
        parse("").unwrap_err(),
        "cron \"\" must have 5 fields (minute hour day month weekday), found 0"
    );
    assert_eq!(
        parse("@hourly").unwrap_err(),
        "cron \"@hourly\" must have 5 fields (minute hour day month weekday), found 1"
    );
}

#[test]
fn a_bad_field_is_named() {
    for (expr, problem) in [
        (
            "0 24 * * *",
            "the hour field \"24\" of cron \"0 24 * * *\" is invalid: number out of bounds \
             (it takes 0-23)",
        ),
        (
            "0 MON * * *",
            "the hour field \"MON\" of cron \"0 MON * * *\" is invalid: \"MON\" is not a value, \
             range or step (it takes 0-23)",
        ),
        (
            "0 0 32 * *",
            "the day-of-month field \"32\" of cron \"0 0 32 * *\" is invalid: number out of \
             bounds (it takes 1-31)",
        ),
        (
            "0 0 1,,2 * *",
            "the day-of-month field \"1,,2\" of cron \"0 0 1,,2 * *\" is invalid: \"\" is not a \
             value, range or step (it takes 1-31)",
        ),
        (
            "0 0 * 13 *",
            "the month field \"13\" of cron \"0 0 * 13 *\" is invalid: number out of bounds \
             (it takes 1-12 or JAN-DEC)",
        ),
        (
            "0 0 * MON *",
            "the month field \"MON\" of cron \"0 0 * MON *\" is invalid: \"MON\" is not a value, \
             range or step (it takes 1-12 or JAN-DEC)",
        ),
        (
            "0 0 * * 8",
            "the day-of-week field \"8\" of cron \"0 0 * * 8\" is invalid: number out of bounds \
             (it takes 0-7 or SUN-SAT, 0 and 7 being Sunday)",
        ),
        (
            "0 0 * * 5-1",
            "the day-of-week field \"5-1\" of cron \"0 0 * * 5-1\" is invalid: range out of \
             bounds (it takes 0-7 or SUN-SAT, 0 and 7 being Sunday)",
        ),
        (
            "0 0 * * 1/",
            "the day-of-week field \"1/\" of cron \"0 0 * * 1/\" is invalid: \"1/\" has no \
             number after / (it takes 0-7 or SUN-SAT, 0 and 7 being Sunday)",
        ),
        (
            "0 0 * * JAN",
            "the day-of-week field \"JAN\" of cron \"0 0 * * JAN\" is invalid: \"JAN\" is not a \
             value, range or step (it takes 0-7 or SUN-SAT, 0 and 7 being Sunday)",
        ),
        (
            "0 0 */1 * 1",
            "the day-of-month field \"*/1\" of cron \"0 0 */1 * 1\" is ambiguous: write \"*\" \
             alone, or list the values",
        ),
        (
            "0 0 * * *,1",
            "the day-of-week field \"*,1\" of cron \"0 0 * * *,1\" is ambiguous: write \"*\" \
             alone, or list the values",
        ),
    ] {
        assert_eq!(parse(expr).unwrap_err(), problem, "{expr}");
    }
}

#[test]
fn what_kedas_cron_cannot_read_is_refused() {
    for (expr, what, name) in [
        ("0 0 L * *", "L (the last day of the month)", "day-of-month"),
        ("0 0 15W * *", "W (the nearest weekday)", "day-of-month"),
        (
            "0 0 * * 1#2",
            "# (the nth weekday of the month)",
            "day-of-week",
        ),
        (
            "0 0 * * 5L",
            "L (the last weekday of the month)",
            "day-of-week",
        ),
        (
            "0 0 1 * +1",
            "+ (both the day of the month and the weekday)",
            "day-of-week",
        ),
    ] {
        let field = expr
            .split(' ')
            .nth(if name == "day-of-month" { 2 } else { 4 });
        let things = if name == "day-of-month" {
            "days of the month"
        } else {
            "weekdays"
        };
        assert_eq!(
            parse(expr).unwrap_err(),
            format!(
                "the {name} field {:?} of cron {expr:?} uses {what}, which KEDA's cron scaler \
                 cannot read; write the {things} as numbers, ranges, lists or steps, such as \
                 \"1\" or \"1-5\"",
                field.unwrap()
            )
        );
    }
}

#[test]
fn a_schedule_that_never_fires_is_refused() {
    assert_eq!(
        parse("0 0 30 2 *").unwrap_err(),
        "cron \"0 0 30 2 *\" never fires: none of the months it allows has day 30"
    );
    assert_eq!(
        parse("0 0 31 4,6 *").unwrap_err(),
        "cron \"0 0 31 4,6 *\" never fires: none of the months it allows has day 31"
    );
    // February 29 comes every four years.
    assert_eq!(parse("0 0 29 2 *").unwrap().expression(), "0 0 29 2 *");
}

#[test]
fn the_calendar_matches_chrono() {
    let mut count = 0;
    for (day, next) in calendar() {
        let date = NaiveDate::from_ymd_opt(day.year as i32, day.month, day.day).unwrap();
        assert_eq!(day.weekday, date.weekday().num_days_from_sunday());
        let after = date.succ_opt().unwrap();
        assert_eq!(
            (next.year, next.month, next.day, next.weekday),
            (
                after.year() as u32,
                after.month(),
                after.day(),
                after.weekday().num_days_from_sunday()
            )
        );
        count += 1;
    }
    let first = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let end = NaiveDate::from_ymd_opt(2053, 1, 1).unwrap();
    assert_eq!(count, (end - first).num_days());
}

proptest! {
    #[test]
    fn any_text_parses_or_says_why_quoting_it(
        expr in prop::collection::vec(
            "([0-9]{1,2}|[*?+]|[A-Za-z]{3}|L|[0-9]W|[0-9]#[0-9]|)([-/,]([0-9]{1,2}|[A-Za-z]{3}|\\*))?",
            0..=6,
        )
        .prop_map(|fields| fields.join(" "))
    ) {
        match parse(&expr) {
            Ok(cron) => {
                let again = parse(&cron.expression()).unwrap();
                prop_assert_eq!(again.expression(), cron.expression());
                let _ = cron.triggers(31);
            }
            Err(problem) => prop_assert!(problem.contains(&format!("{expr:?}")), "{}", problem),
        }
    }
}

#[test]
fn a_remembered_parse_is_the_parse() {
    for expr in ["27 3 * * *", "61 * * * *", "0 0 31 2 *", "0 0 * * *"] {
        let first = parse(expr);
        assert_eq!(first, parse_anew(expr), "{expr}");
        assert_eq!(parse(expr), first, "{expr}");
    }
    // More expressions than a thread keeps: it starts over and still answers the same.
    for i in 0..REMEMBERED + 10 {
        let expr = format!("{} {} {} * *", i % 60, (i / 60) % 24, 1 + i / 1440);
        assert_eq!(parse(&expr), parse_anew(&expr), "{expr}");
        assert!(PARSED.with_borrow(|parsed| parsed.len()) <= REMEMBERED);
    }
}

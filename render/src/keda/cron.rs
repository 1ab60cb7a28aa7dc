//! Cron schedules, and the KEDA cron triggers that wake a scheduled worker.
//!
//! Upstream requires a 5-field UTC cron whose minute field is a single integer, and wakes the
//! worker for `clamp(leaseSeconds / 60 + 1, 5, 55)` minutes from every firing. KEDA's cron
//! scaler (robfig/cron) is active while the next firing of `end` comes no later than the next
//! firing of `start`, and a ScaledObject is active while any of its triggers is. A trigger
//! whose `end` fires only `window` minutes after one of its `start` firings is active exactly
//! on the windows of those starts (a start with no end after it is overtaken by the next
//! start), so each trigger's end is its start, or part of it, moved by the window.
//!
//! Moving a schedule by the window keeps its day fields unless a window starts at 23:xx and
//! ends after midnight. Those windows end on the following days, and crons can select them
//! when every such day shares its day of the month (in every year) or its weekday within the
//! month (in every year) only with other such days; the following days are then written as
//! one trigger per group. When a day has neither, no set of UTC triggers can end the windows
//! exactly there, and the schedule is refused. Fields are parsed by `croner` and written back
//! as plain numbers, so KEDA reads exactly what the schedule meant.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;

use croner::errors::CronError;
use croner::parser::CronParser;

/// Bits 0..=23.
const ALL_HOURS: u64 = (1 << 24) - 1;
/// Bits 1..=31.
const ALL_DAYS_OF_MONTH: u64 = ((1 << 32) - 1) & !1;
/// Bits 1..=12.
const ALL_MONTHS: u64 = ((1 << 13) - 1) & !1;
/// Bits 0..=6, Sunday first.
const ALL_WEEKDAYS: u64 = (1 << 7) - 1;
const HOUR_23: u64 = 1 << 23;

const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The days a cron fires on: a month in `months`, and the day of the month in `dom` or the
/// weekday in `dow`. `None` is `*`; when both are restricted either one matching is enough,
/// as in every cron.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Days {
    dom: Option<u64>,
    months: u64,
    dow: Option<u64>,
}

impl Days {
    /// Days with a day field that selects everything written as `*`, so the text says what
    /// KEDA will do.
    fn new(dom: Option<u64>, months: u64, dow: Option<u64>) -> Days {
        let (dom, dow) = match (dom, dow) {
            (Some(d), Some(w)) if d == ALL_DAYS_OF_MONTH || w == ALL_WEEKDAYS => (None, None),
            (Some(ALL_DAYS_OF_MONTH), None) | (None, Some(ALL_WEEKDAYS)) => (None, None),
            other => other,
        };
        Days { dom, months, dow }
    }

    fn is_every_day(&self) -> bool {
        self.months == ALL_MONTHS && self.dom.is_none() && self.dow.is_none()
    }

    fn matches(&self, date: Date) -> bool {
        let day = |mask: u64| mask & (1 << date.day) != 0;
        let weekday = |mask: u64| mask & (1 << date.weekday) != 0;
        self.months & (1 << date.month) != 0
            && match (self.dom, self.dow) {
                (None, None) => true,
                (Some(d), None) => day(d),
                (None, Some(w)) => weekday(w),
                (Some(d), Some(w)) => day(d) || weekday(w),
            }
    }

    /// The day-of-month, month and day-of-week fields.
    fn fields(&self) -> String {
        format!(
            "{} {} {}",
            self.dom.map_or("*".into(), |d| list(d, 1, 31)),
            list(self.months, 1, 12),
            self.dow.map_or("*".into(), |w| list(w, 0, 6)),
        )
    }
}

/// A parsed schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    /// The expression as written, for messages.
    expr: String,
    minute: u32,
    hours: u64,
    days: Days,
}

/// One KEDA cron trigger: active from each `start` firing until the next `end` firing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trigger {
    /// The start expression.
    pub start: String,
    /// The end expression.
    pub end: String,
}

/// What a field of the expression may hold.
struct Field {
    name: &'static str,
    takes: &'static str,
    /// Where the field goes in a probe expression whose other fields are `*`.
    probe: &'static str,
    names: &'static [&'static str],
    /// Day fields accept `?` for `*`.
    question_mark: bool,
}

const FIELDS: [Field; 4] = [
    Field {
        name: "hour",
        takes: "0-23",
        probe: "0 {} * * *",
        names: &[],
        question_mark: false,
    },
    Field {
        name: "day-of-month",
        takes: "1-31",
        probe: "0 0 {} * *",
        names: &[],
        question_mark: true,
    },
    Field {
        name: "month",
        takes: "1-12 or JAN-DEC",
        probe: "0 0 * {} *",
        names: &MONTH_NAMES,
        question_mark: false,
    },
    Field {
        name: "day-of-week",
        takes: "0-7 or SUN-SAT, 0 and 7 being Sunday",
        probe: "0 0 * * {}",
        names: &WEEKDAY_NAMES,
        question_mark: true,
    },
];

/// How many parsed expressions each thread keeps ([`parse`]).
const REMEMBERED: usize = 4096;

thread_local! {
    /// Expressions parsed on this thread, with their results.
    static PARSED: RefCell<HashMap<String, Result<Cron, String>>> = RefCell::new(HashMap::new());
}

/// Parses a cron expression, with a message that says what is wrong and in which field.
///
/// Validation and expansion both parse every schedule, and large inputs repeat a few
/// expressions many times; croner's parser was about 4% of a render. So each thread keeps
/// the results of the last expressions it parsed (up to [`REMEMBERED`], then it starts over).
pub fn parse(expr: &str) -> Result<Cron, String> {
    if let Some(found) = PARSED.with_borrow(|parsed| parsed.get(expr).cloned()) {
        return found;
    }
    let result = parse_anew(expr);
    PARSED.with_borrow_mut(|parsed| {
        if parsed.len() >= REMEMBERED {
            parsed.clear();
        }
        parsed.insert(expr.to_string(), result.clone());
    });
    result
}

fn parse_anew(expr: &str) -> Result<Cron, String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let [minute, rest @ ..] = fields.as_slice() else {
        return Err(five_fields(expr, 0));
    };
    if rest.len() != 4 {
        return Err(five_fields(expr, fields.len()));
    }
    let minute: u32 = match minute.parse() {
        Ok(m) if m < 60 && minute.bytes().all(|b| b.is_ascii_digit()) => m,
        _ => {
            return Err(format!(
                "the minute field of cron {expr:?} must be a single integer 0-59, found {minute:?}"
            ));
        }
    };
    for (field, text) in FIELDS.iter().zip(rest) {
        check_field(field, text).map_err(|problem| {
            format!(
                "the {} field {text:?} of cron {expr:?} {problem}",
                field.name
            )
        })?;
    }
    let parser = CronParser::new();
    let cron = parser.parse(&fields.join(" ")).map_err(|e| {
        // Name the field: parse each one alone, the others `*`.
        FIELDS
            .iter()
            .zip(rest)
            .find_map(|(field, text)| {
                let probe = field.probe.replace("{}", text);
                parser.parse(&probe).err().map(|e| {
                    format!(
                        "the {} field {text:?} of cron {expr:?} is invalid: {} (it takes {})",
                        field.name,
                        reason(&e),
                        field.takes
                    )
                })
            })
            .unwrap_or_else(|| format!("cron {expr:?} is invalid: {}", reason(&e)))
    })?;
    let p = &cron.pattern;
    let mask = |values: Vec<u16>| values.iter().fold(0u64, |m, v| m | 1 << v);
    let days = Days::new(
        (!p.is_dom_wildcard()).then(|| mask(p.days.values())),
        mask(p.months.values()),
        (!p.is_dow_wildcard()).then(|| mask(p.days_of_week.values())),
    );
    if !fires(&days) {
        return Err(format!(
            "cron {expr:?} never fires: none of the months it allows has day {}",
            list(days.dom.unwrap_or_default(), 1, 31)
        ));
    }
    Ok(Cron {
        expr: fields.join(" "),
        minute,
        hours: mask(p.hours.values()),
        days,
    })
}

fn five_fields(expr: &str, found: usize) -> String {
    format!("cron {expr:?} must have 5 fields (minute hour day month weekday), found {found}")
}

/// The field's syntax, limited to what both croner and KEDA's robfig/cron read alike; croner
/// then checks the values (croner would also read a name in any field). The problem is worded
/// to follow "the <name> field <text> of cron <expr>".
fn check_field(field: &Field, text: &str) -> Result<(), String> {
    let upper = text.to_ascii_uppercase();
    let unreadable = match field.name {
        "day-of-month" if upper.contains('L') => Some("L (the last day of the month)"),
        "day-of-month" if upper.contains('W') => Some("W (the nearest weekday)"),
        "day-of-week" if upper.contains('#') => Some("# (the nth weekday of the month)"),
        "day-of-week" if upper.contains('L') => Some("L (the last weekday of the month)"),
        "day-of-week" if upper.starts_with('+') => {
            Some("+ (both the day of the month and the weekday)")
        }
        _ => None,
    };
    if let Some(what) = unreadable {
        return Err(format!(
            "uses {what}, which KEDA's cron scaler cannot read; write the {} as numbers, \
             ranges, lists or steps, such as \"1\" or \"1-5\"",
            if field.name == "day-of-month" {
                "days of the month"
            } else {
                "weekdays"
            }
        ));
    }
    let whole_star = field.question_mark && (text == "*" || text == "?");
    for item in upper.split(',') {
        let (base, step) = match item.split_once('/') {
            Some((base, step)) => (base, Some(step)),
            None => (item, None),
        };
        if let Some(step) = step
            && (step.is_empty() || !step.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!(
                "is invalid: {item:?} has no number after / (it takes {})",
                field.takes
            ));
        }
        let star = base == "*" || (field.question_mark && base == "?");
        let value = |v: &str| {
            (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())) || field.names.contains(&v)
        };
        let ok = star
            || match base.split_once('-') {
                Some((low, high)) => value(low) && value(high),
                None => value(base),
            };
        if !ok {
            return Err(format!(
                "is invalid: {item:?} is not a value, range or step (it takes {})",
                field.takes
            ));
        }
        // robfig/cron counts `*/1` or a `*` in a list as `*` when it combines the two day
        // fields, croner does not; written alone, `*` means the same to both.
        if field.question_mark
            && star
            && !whole_star
            && step.is_none_or(|s| s.parse::<u32>().is_ok_and(|s| s == 1))
        {
            return Err("is ambiguous: write \"*\" alone, or list the values".to_string());
        }
    }
    Ok(())
}

/// croner's error in plain words.
fn reason(e: &CronError) -> String {
    let text = match e {
        CronError::ComponentError(m) | CronError::InvalidPattern(m) => m.clone(),
        other => other.to_string(),
    };
    let text = text.trim_end_matches('.');
    let mut chars = text.chars();
    chars.next().map_or(String::new(), |c| {
        c.to_lowercase().chain(chars).collect::<String>()
    })
}

/// True when some day matches: a weekday occurs in every month, a day of the month only in
/// months long enough.
fn fires(days: &Days) -> bool {
    let Some(dom) = days.dom else { return true };
    if days.dow.is_some() {
        return true;
    }
    (1..=12u32)
        .filter(|m| days.months & (1 << m) != 0)
        .any(|m| dom & ((1u64 << (max_days_in_month(m) + 1)) - 1) != 0)
}

/// The wake-up window in minutes for a lease length in seconds.
pub fn window_minutes(lease_seconds: i32) -> u32 {
    let minutes = i64::from(lease_seconds.max(0)) / 60 + 1;
    minutes.clamp(5, 55) as u32
}

impl Cron {
    /// The schedule, written as KEDA will read it: numbers, ranges and lists.
    pub fn expression(&self) -> String {
        self.with(self.minute, self.hours, &self.days)
    }

    fn with(&self, minute: u32, hours: u64, days: &Days) -> String {
        format!("{minute} {} {}", list(hours, 0, 23), days.fields())
    }

    /// The KEDA cron triggers that are together active exactly on `[s, s + window)` for every
    /// firing `s`, for a window of 5 to 55 minutes ([`window_minutes`]); or why none can be.
    pub fn triggers(&self, window: u32) -> Result<Vec<Trigger>, String> {
        self.encode(window).map_err(|why| {
            let (start, end) = (self.minute, (self.minute + window) % 60);
            let month = MONTHS[why.end.month as usize - 1];
            format!(
                "cron {:?} with a {window}-minute window has no exact KEDA encoding: the window \
                 from 23:{start:02} on {} ends at 00:{end:02} on {}, and a UTC cron that fires \
                 then also fires on {} (the same day of {month}) or on {} (the same weekday in \
                 {month}), when no window ends; schedules that work: {}",
                self.expr,
                why.start,
                why.end,
                why.same_day,
                why.same_weekday,
                join_or(&self.nearby(window)),
            )
        })
    }

    /// Schedules close to this one that have an exact encoding: other day fields, a start
    /// early enough for the window to end within the hour, and 22:xx instead of 23:xx.
    fn nearby(&self, window: u32) -> Vec<String> {
        let earlier = 59u32.saturating_sub(window);
        let before_23 = (self.hours & !HOUR_23) | (1 << 22);
        let candidates = self
            .day_fixes()
            .into_iter()
            .map(|days| (self.minute, self.hours, days, ""))
            .chain([
                (
                    earlier,
                    self.hours,
                    self.days,
                    " (the window ends within the hour)",
                ),
                (self.minute, before_23, self.days, ""),
            ]);
        candidates
            .filter_map(|(minute, hours, days, note)| {
                let cron = Cron {
                    expr: String::new(),
                    minute,
                    hours,
                    days,
                };
                cron.encode(window)
                    .is_ok()
                    .then(|| format!("{:?}{note}", cron.expression()))
            })
            .collect()
    }

    fn encode(&self, window: u32) -> Result<Vec<Trigger>, Unselectable> {
        let end_minute = (self.minute + window) % 60;
        let trigger = |hours: u64, end_hours: u64, end_days: &Days| Trigger {
            start: self.with(self.minute, hours, &self.days),
            end: self.with(end_minute, end_hours, end_days),
        };
        if self.minute + window < 60 {
            return Ok(vec![trigger(self.hours, self.hours, &self.days)]);
        }
        let next_hours = ((self.hours << 1) | (self.hours >> 23)) & ALL_HOURS;
        if self.hours & HOUR_23 == 0 || self.days.is_every_day() {
            return Ok(vec![trigger(self.hours, next_hours, &self.days)]);
        }
        let mut out = Vec::new();
        let before = self.hours & !HOUR_23;
        if before != 0 {
            out.push(trigger(before, before << 1, &self.days));
        }
        for days in following_days(&self.days)? {
            out.push(trigger(HOUR_23, 1, &days));
        }
        Ok(out)
    }

    /// Day fields close to this schedule's, for a refusal's suggestions.
    fn day_fixes(&self) -> Vec<Days> {
        let mut out = Vec::new();
        let d = self.days;
        let leap = (1 << 28) | (1 << 29);
        if let Some(dom) = d.dom
            && d.months & (1 << 2) != 0
        {
            out.push(Days::new(Some(dom | leap), d.months, d.dow));
            if dom & !leap != 0 {
                out.push(Days::new(Some(dom & !leap), d.months, d.dow));
            }
        }
        if d.months != ALL_MONTHS {
            out.push(Days::new(d.dom, ALL_MONTHS, d.dow));
        }
        out
    }
}

fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// A field's values: `*` when it holds them all, else single values and runs of three or
/// more as ranges.
fn list(mask: u64, low: u32, high: u32) -> String {
    let all = (low..=high).fold(0u64, |m, v| m | 1 << v);
    if mask & all == all {
        return "*".to_string();
    }
    let mut out = String::new();
    let mut v = low;
    while v <= high {
        if mask & (1 << v) == 0 {
            v += 1;
            continue;
        }
        let mut end = v;
        while end < high && mask & (1 << (end + 1)) != 0 {
            end += 1;
        }
        let sep = if out.is_empty() { "" } else { "," };
        let _ = match end - v {
            0 => write!(out, "{sep}{v}"),
            1 => write!(out, "{sep}{v},{end}"),
            _ => write!(out, "{sep}{v}-{end}"),
        };
        v = end + 1;
    }
    out
}

/// A day of the calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Date {
    year: u32,
    month: u32,
    day: u32,
    /// 0 is Sunday.
    weekday: u32,
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}-{:02}-{:02}",
            WEEKDAYS[self.weekday as usize], self.year, self.month, self.day
        )
    }
}

fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn max_days_in_month(month: u32) -> u32 {
    days_in_month(2028, month)
}

impl Date {
    fn next(self) -> Date {
        let weekday = (self.weekday + 1) % 7;
        if self.day < days_in_month(self.year, self.month) {
            Date {
                day: self.day + 1,
                weekday,
                ..self
            }
        } else if self.month < 12 {
            Date {
                month: self.month + 1,
                day: 1,
                weekday,
                ..self
            }
        } else {
            Date {
                year: self.year + 1,
                month: 1,
                day: 1,
                weekday,
            }
        }
    }
}

/// Every (day, next day) pair from 2024-12-31 through 2052-12-31: 28 years, within which the
/// calendar repeats (until 2100), so every combination of month, day, weekday and leap year
/// that any year has occurs.
fn calendar() -> impl Iterator<Item = (Date, Date)> {
    let first = Date {
        year: 2024,
        month: 12,
        day: 31,
        weekday: 2,
    };
    std::iter::successors(Some(first), |d| Some(d.next()))
        .map(|d| (d, d.next()))
        .take_while(|(_, next)| next.year < 2053)
}

/// Why no UTC cron can select the end day of a window.
#[derive(Clone, Copy, Debug)]
struct Unselectable {
    /// The day a window starts, at 23:xx.
    start: Date,
    /// The next day, when that window ends.
    end: Date,
    /// A day with the same month and day of the month when no window ends.
    same_day: Date,
    /// A day in the same month, on the same weekday, when no window ends.
    same_weekday: Date,
}

/// The days that follow a day of `days`, as crons that each select only such days and
/// together select them all; or the first such day that no cron can select.
///
/// A cron selects a day through its day of the month (then it selects that day of that month
/// in every year) or through its weekday (then every such weekday of that month), so a
/// following day can be selected exactly when one of those two sets holds only following
/// days. The sets are grouped into as few crons as the greedy grouping finds.
fn following_days(days: &Days) -> Result<Vec<Days>, Unselectable> {
    // Per month, the days of the month and the weekdays with a day that follows no day of
    // `days`, and such a day.
    let mut bad_day = [0u64; 13];
    let mut bad_weekday = [0u64; 13];
    let mut same_day: [[Option<Date>; 32]; 13] = [[None; 32]; 13];
    let mut same_weekday: [[Option<Date>; 7]; 13] = [[None; 7]; 13];
    for (before, day) in calendar() {
        if !days.matches(before) {
            let (m, d, w) = (day.month as usize, day.day as usize, day.weekday as usize);
            bad_day[m] |= 1 << d;
            bad_weekday[m] |= 1 << w;
            same_day[m][d].get_or_insert(day);
            same_weekday[m][w].get_or_insert(day);
        }
    }
    // Weekdays only where the day of the month cannot serve, then days of the month for the
    // following days that those weekdays leave.
    let mut need_weekday = [0u64; 13];
    for (before, day) in calendar().filter(|(before, _)| days.matches(*before)) {
        let m = day.month as usize;
        if bad_day[m] & (1 << day.day) == 0 {
            continue;
        }
        if bad_weekday[m] & (1 << day.weekday) != 0 {
            return Err(Unselectable {
                start: before,
                end: day,
                same_day: same_day[m][day.day as usize].unwrap_or(day),
                same_weekday: same_weekday[m][day.weekday as usize].unwrap_or(day),
            });
        }
        need_weekday[m] |= 1 << day.weekday;
    }
    let mut need_day = [0u64; 13];
    for (_, day) in calendar().filter(|(before, _)| days.matches(*before)) {
        let m = day.month as usize;
        if need_weekday[m] & (1 << day.weekday) == 0 {
            need_day[m] |= 1 << day.day;
        }
    }
    let day_groups = groups(&need_day, &bad_day, 1, 31);
    let mut weekday_groups = groups(&need_weekday, &bad_weekday, 0, 6);
    let mut out = Vec::new();
    for (months, doms) in day_groups {
        // A weekday group over the same months joins it: a cron with both day fields
        // restricted selects either.
        let weekdays = weekday_groups
            .iter()
            .position(|(m, _)| *m == months)
            .map(|i| weekday_groups.remove(i).1);
        out.push(Days::new(Some(doms), months, weekdays));
    }
    for (months, weekdays) in weekday_groups {
        out.push(Days::new(None, months, Some(weekdays)));
    }
    Ok(out)
}

/// Groups values (days of the month or weekdays) into (months, values) crons that cover
/// every needed (month, value) and hold no bad one. Values needed in the most months go
/// first; each joins the first group whose months it needs and allows, else starts a group
/// with every month it allows.
fn groups(need: &[u64; 13], bad: &[u64; 13], low: u32, high: u32) -> Vec<(u64, u64)> {
    let months = |set: &dyn Fn(usize) -> bool| {
        (1..=12usize)
            .filter(|m| set(*m))
            .fold(0u64, |acc, m| acc | 1 << m)
    };
    let mut values: Vec<(u64, u64, u32)> = (low..=high)
        .map(|v| {
            (
                months(&|m| need[m] & (1 << v) != 0),
                months(&|m| bad[m] & (1 << v) == 0),
                v,
            )
        })
        .filter(|(needed, _, _)| *needed != 0)
        .collect();
    values.sort_by_key(|(needed, _, v)| (std::cmp::Reverse(needed.count_ones()), *v));
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (needed, allowed, v) in values {
        match out
            .iter_mut()
            .find(|(m, _)| needed & !m == 0 && *m & !allowed == 0)
        {
            Some((_, group)) => *group |= 1 << v,
            None => out.push((allowed, 1 << v)),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests;

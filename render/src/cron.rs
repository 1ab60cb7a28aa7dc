//! Cron schedules: the wake-up window of a scheduled worker.
//!
//! Upstream requires a 5-field UTC cron whose minute field is a single integer, and wakes the
//! worker for `clamp(leaseSeconds / 60 + 1, 5, 55)` minutes. KEDA's `cron` scaler wants a
//! start and an end expression, so the end is the start moved by the window: the minute
//! becomes `(minute + window) mod 60`, and when that crosses the hour the hour field moves by
//! one, element by element (`*` stays `*`; a value, list or range moves; a step or a range
//! that wraps past 23 is written out as a list).

/// A parsed schedule: the minute and the other four fields as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    /// The minute field, 0..=59.
    pub minute: u32,
    /// The hour field as written.
    pub hour: String,
    /// Day of month, month and day of week, as written.
    pub rest: [String; 3],
}

/// Parses a cron expression, with a message that says what is wrong.
pub fn parse(expr: &str) -> Result<Cron, String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let [minute, hour, dom, month, dow] = fields.as_slice() else {
        return Err(format!(
            "cron {expr:?} must have 5 fields (minute hour day month weekday), found {}",
            fields.len()
        ));
    };
    let minute: u32 = match minute.parse() {
        Ok(m) if m < 60 && minute.bytes().all(|b| b.is_ascii_digit()) => m,
        _ => {
            return Err(format!(
                "the minute field of cron {expr:?} must be a single integer 0-59, found {minute:?}"
            ));
        }
    };
    hours(hour).map_err(|e| format!("the hour field of cron {expr:?} is invalid: {e}"))?;
    for (name, field) in [
        ("day-of-month", dom),
        ("month", month),
        ("day-of-week", dow),
    ] {
        let ok = field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "*,-/?".contains(c));
        if !ok {
            return Err(format!(
                "the {name} field of cron {expr:?} is invalid: {field:?}"
            ));
        }
    }
    Ok(Cron {
        minute,
        hour: hour.to_string(),
        rest: [dom.to_string(), month.to_string(), dow.to_string()],
    })
}

/// The wake-up window in minutes for a lease length in seconds.
pub fn window_minutes(lease_seconds: i32) -> u32 {
    let minutes = i64::from(lease_seconds.max(0)) / 60 + 1;
    minutes.clamp(5, 55) as u32
}

impl Cron {
    /// The expression as written, normalized to single spaces.
    pub fn start(&self) -> String {
        format!("{} {} {}", self.minute, self.hour, self.rest.join(" "))
    }

    /// The end of a window of `window` minutes (less than 60) that starts at this schedule.
    pub fn end(&self, window: u32) -> String {
        let total = self.minute + window;
        let hour = if total >= 60 {
            shift_hours(&self.hour)
        } else {
            self.hour.clone()
        };
        format!("{} {} {}", total % 60, hour, self.rest.join(" "))
    }
}

/// The hours an hour field matches.
fn hours(field: &str) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("bad step in {item:?}"))?,
            ),
            None => (item, 1),
        };
        let (low, high) = match range {
            "*" => (0, 23),
            r => match r.split_once('-') {
                Some((a, b)) => (hour(a)?, hour(b)?),
                None if step > 1 => (hour(r)?, 23),
                None => (hour(r)?, hour(r)?),
            },
        };
        if low > high {
            return Err(format!("range {range:?} runs backwards"));
        }
        out.extend((low..=high).step_by(step as usize));
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn hour(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(h) if h < 24 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(h),
        _ => Err(format!("{text:?} is not an hour 0-23")),
    }
}

/// Moves every hour in the field one hour later.
fn shift_hours(field: &str) -> String {
    if field == "*" {
        return field.to_string();
    }
    let shifted: Option<Vec<String>> = field
        .split(',')
        .map(|item| {
            if item.contains('/') {
                return None;
            }
            match item.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?);
                    (b < 23).then(|| format!("{}-{}", a + 1, b + 1))
                }
                None => item.parse::<u32>().ok().map(|h| ((h + 1) % 24).to_string()),
            }
        })
        .collect();
    match shifted {
        Some(items) => items.join(","),
        None => {
            // Steps and wrapping ranges: write out the hours.
            let mut hours: Vec<u32> = hours(field)
                .unwrap_or_default()
                .iter()
                .map(|h| (h + 1) % 24)
                .collect();
            hours.sort_unstable();
            hours
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",")
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_clamped_between_5_and_55_minutes() {
        assert_eq!(window_minutes(120), 5);
        assert_eq!(window_minutes(1800), 31);
        assert_eq!(window_minutes(0), 5);
        assert_eq!(window_minutes(100_000), 55);
    }

    #[test]
    fn a_window_inside_the_hour_keeps_the_hour() {
        let c = parse("10 3 * * *").unwrap();
        assert_eq!(c.end(5), "15 3 * * *");
    }

    #[test]
    fn a_window_that_crosses_the_hour_shifts_every_hour_element() {
        assert_eq!(parse("50 * * * *").unwrap().end(31), "21 * * * *");
        assert_eq!(parse("50 23 * * 1").unwrap().end(31), "21 0 * * 1");
        assert_eq!(parse("45 1,5 * * *").unwrap().end(20), "5 2,6 * * *");
        assert_eq!(parse("45 9-17 * * *").unwrap().end(20), "5 10-18 * * *");
        assert_eq!(
            parse("45 20-23 * * *").unwrap().end(20),
            "5 0,21,22,23 * * *"
        );
        assert_eq!(parse("45 */6 * * *").unwrap().end(20), "5 1,7,13,19 * * *");
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
    }

    #[test]
    fn a_bad_hour_is_reported() {
        assert_eq!(
            parse("0 24 * * *").unwrap_err(),
            "the hour field of cron \"0 24 * * *\" is invalid: \"24\" is not an hour 0-23"
        );
    }
}

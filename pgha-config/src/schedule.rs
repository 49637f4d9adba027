//! Cron time specifications: the five-field schedule of the backup and log clean-up jobs.
//!
//! The rules follow crontab(5) of Vixie cron and its descendants (cronie on Oracle Linux, Debian's
//! cron): five fields separated by blanks — minute 0–59, hour 0–23, day of month 1–31, month 1–12,
//! day of week 0–7 where both 0 and 7 mean Sunday. A field is `*`, a number, a range `a-b`, any of
//! those followed by a step `/n`, or a comma-separated list of such elements. The month and day of
//! week fields also take the first three letters of English names (`jan`, `sun`), in any case;
//! cronie and Debian's cron accept names inside ranges and lists (`mon-sat`) too. Quartz-style
//! extensions (`?`, `L`, `W`, `#`) and a sixth seconds field are not cron syntax and are refused.
//!
//! [`check_cron_expression`] is used by validation (model schedules) and by lint (crontab lines).

use std::collections::BTreeSet;
use std::fmt;

/// One of the five time fields of a cron line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CronField {
    /// Minute of the hour, 0–59.
    Minute,
    /// Hour of the day, 0–23.
    Hour,
    /// Day of the month, 1–31.
    DayOfMonth,
    /// Month, 1–12 or `jan`–`dec`.
    Month,
    /// Day of the week, 0–7 (0 and 7 are Sunday) or `sun`–`sat`.
    DayOfWeek,
}

/// The five fields in the order a cron line lists them.
pub const CRON_FIELDS: [CronField; 5] = [
    CronField::Minute,
    CronField::Hour,
    CronField::DayOfMonth,
    CronField::Month,
    CronField::DayOfWeek,
];

const MONTH_NAMES: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAY_NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

impl CronField {
    /// The field's name as a message shows it.
    pub fn name(self) -> &'static str {
        match self {
            CronField::Minute => "minute",
            CronField::Hour => "hour",
            CronField::DayOfMonth => "day of month",
            CronField::Month => "month",
            CronField::DayOfWeek => "day of week",
        }
    }

    /// The smallest and largest number the field accepts.
    pub fn range(self) -> (u32, u32) {
        match self {
            CronField::Minute => (0, 59),
            CronField::Hour => (0, 23),
            CronField::DayOfMonth => (1, 31),
            CronField::Month => (1, 12),
            CronField::DayOfWeek => (0, 7),
        }
    }

    /// The number a three-letter name stands for in this field, if any.
    fn named_value(self, text: &str) -> Option<u32> {
        let lower = text.to_ascii_lowercase();
        let (names, first): (&[&str], u32) = match self {
            CronField::Month => (&MONTH_NAMES, 1),
            CronField::DayOfWeek => (&DAY_NAMES, 0),
            _ => return None,
        };
        names
            .iter()
            .position(|n| *n == lower)
            .and_then(|i| u32::try_from(i).ok())
            .map(|i| i + first)
    }
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Checks a five-field cron time specification such as `0 1 * * 1-6`. The error is one sentence
/// saying what is wrong, e.g. that a line has four fields (the tutorial's log clean-up line).
pub fn check_cron_expression(expr: &str) -> Result<(), String> {
    parse_cron_expression(expr).map(|_| ())
}

/// The values a valid cron time specification selects, field by field (day of week 7 folded
/// onto 0), in [`CRON_FIELDS`] order.
pub fn parse_cron_expression(expr: &str) -> Result<[BTreeSet<u32>; 5], String> {
    let trimmed = expr.trim();
    if trimmed.is_empty() {
        return Err("the cron schedule is empty".to_string());
    }
    if let Some(rest) = trimmed.strip_prefix('@') {
        return Err(format!(
            "`@{rest}` is a cron shorthand, not five time fields"
        ));
    }
    let fields: Vec<&str> = trimmed.split_whitespace().collect();
    if fields.len() != CRON_FIELDS.len() {
        return Err(format!(
            "`{trimmed}` has {} field{}, but a cron schedule needs exactly 5 (minute hour \
             day-of-month month day-of-week)",
            fields.len(),
            if fields.len() == 1 { "" } else { "s" }
        ));
    }
    let mut out: [BTreeSet<u32>; 5] = Default::default();
    let mut errors = Vec::new();
    for ((field, text), slot) in CRON_FIELDS.iter().zip(&fields).zip(out.iter_mut()) {
        match expand_cron_field(*field, text) {
            Ok(values) => *slot = values,
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors.join("; "))
    }
}

/// Checks one field of a cron line.
pub fn check_cron_field(field: CronField, text: &str) -> Result<(), String> {
    expand_cron_field(field, text).map(|_| ())
}

/// The values one field selects (day of week 7 folded onto 0).
pub fn expand_cron_field(field: CronField, text: &str) -> Result<BTreeSet<u32>, String> {
    if text.is_empty() {
        return Err(format!("the {field} field is empty"));
    }
    let mut values = BTreeSet::new();
    for element in text.split(',') {
        expand_element(field, element, &mut values)
            .map_err(|e| format!("{field} field `{text}`: {e}"))?;
    }
    if field == CronField::DayOfWeek && values.remove(&7) {
        values.insert(0);
    }
    Ok(values)
}

fn expand_element(field: CronField, element: &str, out: &mut BTreeSet<u32>) -> Result<(), String> {
    if element.is_empty() {
        return Err("empty list element (two commas in a row, or a trailing comma)".to_string());
    }
    let (low_max, high_max) = field.range();
    let (range_part, step) = match element.split_once('/') {
        Some((r, s)) => {
            let step = parse_step(s, high_max)?;
            (r, Some(step))
        }
        None => (element, None),
    };
    let (low, high) = if range_part == "*" {
        (low_max, high_max)
    } else if let Some((a, b)) = range_part.split_once('-') {
        let a = parse_value(field, a)?;
        let b = parse_value(field, b)?;
        if a > b {
            return Err(format!(
                "range `{range_part}` runs backwards (cron does not wrap around)"
            ));
        }
        (a, b)
    } else {
        let v = parse_value(field, range_part)?;
        if step.is_some() {
            // Vixie cron reads `5/10` as `5-<max>/10`; cronie and Debian's cron agree, but
            // the form is obscure, so it is accepted the same way.
            (v, high_max)
        } else {
            (v, v)
        }
    };
    let step = step.unwrap_or(1);
    let mut v = low;
    while v <= high {
        out.insert(v);
        v = match v.checked_add(step) {
            Some(n) => n,
            None => break,
        };
    }
    Ok(())
}

fn parse_step(text: &str, high_max: u32) -> Result<u32, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("step `/{text}` is not a positive number"));
    }
    match text.parse::<u32>() {
        Ok(0) => Err("step `/0` is not allowed".to_string()),
        Ok(n) if n > high_max => Err(format!(
            "step `/{n}` is larger than the field's largest value {high_max}"
        )),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("step `/{text}` is out of range")),
    }
}

fn parse_value(field: CronField, text: &str) -> Result<u32, String> {
    let (low, high) = field.range();
    if text.is_empty() {
        return Err("a range is missing a number".to_string());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<u32>() {
            Ok(v) if (low..=high).contains(&v) => Ok(v),
            _ => Err(format!("`{text}` is outside {low}–{high}")),
        };
    }
    if let Some(v) = field.named_value(text) {
        return Ok(v);
    }
    match field {
        CronField::Month => Err(format!(
            "`{text}` is neither a number 1–12 nor a month name (jan…dec)"
        )),
        CronField::DayOfWeek => Err(format!(
            "`{text}` is neither a number 0–7 nor a day name (sun…sat)"
        )),
        _ => Err(format!("`{text}` is not a number {low}–{high}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_schedules_we_render_and_common_forms() {
        for ok in [
            "0 1 * * 0",
            "0 1 * * 1-6",
            "8 0 * * *",
            "*/15 * * * *",
            "0 0-23/2 * * *",
            "0,30 8-17 1,15 * mon-fri",
            "0 1 * JAN,jul SUN",
            "59 23 31 12 7",
            "  0   1 * * 0  ",
            "5/10 * * * *",
            "0 1 * * 0,7",
        ] {
            assert_eq!(check_cron_expression(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn the_tutorials_four_field_line_is_refused() {
        let e = check_cron_expression("8 0 * *").unwrap_err();
        assert!(e.contains("4 fields"), "{e}");
        let e = check_cron_expression("0 0 1 * * *").unwrap_err();
        assert!(e.contains("6 fields"), "{e}");
    }

    #[test]
    fn refuses_out_of_range_and_malformed_fields() {
        for (bad, needle) in [
            ("60 * * * *", "minute"),
            ("* 24 * * *", "hour"),
            ("* * 0 * *", "day of month"),
            ("* * 32 * *", "day of month"),
            ("* * * 13 *", "month"),
            ("* * * 0 *", "month"),
            ("* * * * 8", "day of week"),
            ("* * * * funday", "day name"),
            ("*/0 * * * *", "/0"),
            ("*/61 * * * *", "larger"),
            ("5-1 * * * *", "backwards"),
            ("1,,2 * * * *", "empty list element"),
            ("1, * * * *", "empty list element"),
            ("* * ? * *", "day of month"),
            ("* * L * *", "day of month"),
            ("* * * * 5#2", "day of week"),
            ("-1 * * * *", "missing a number"),
            ("*/ * * * *", "step"),
            ("a * * * *", "minute"),
            ("99999999999 * * * *", "outside"),
            ("* * * * sun-", "missing"),
            ("jan * * * *", "minute"),
        ] {
            let e = check_cron_expression(bad).unwrap_err();
            assert!(e.contains(needle), "{bad}: {e}");
        }
        assert!(check_cron_expression("").unwrap_err().contains("empty"));
        assert!(check_cron_expression("@daily")
            .unwrap_err()
            .contains("shorthand"));
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let e = check_cron_expression("60 24 * * *").unwrap_err();
        assert!(e.contains("minute") && e.contains("hour"), "{e}");
    }

    #[test]
    fn expands_ranges_steps_names_and_sunday_seven() {
        let f = parse_cron_expression("0-10/5 1 * feb-apr mon-sat,7").unwrap();
        assert_eq!(f[0].iter().copied().collect::<Vec<_>>(), vec![0, 5, 10]);
        assert_eq!(f[3].iter().copied().collect::<Vec<_>>(), vec![2, 3, 4]);
        assert_eq!(
            f[4].iter().copied().collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4, 5, 6]
        );
        let all = expand_cron_field(CronField::Hour, "*").unwrap();
        assert_eq!(all.len(), 24);
        assert_eq!(check_cron_field(CronField::DayOfWeek, "7"), Ok(()));
    }
}

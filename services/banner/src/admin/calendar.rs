//! The calendar grid as plain data: which days are shown, and where each banner's bar goes.
//!
//! The screen is a table with one row per platform slot (MOBILE 1 to 6, then DESKTOP 1 to 6)
//! and one column per day. A banner is a bar from the column of the day it starts to the column
//! of the day it ends, cut at the edges of the period shown. Days are UTC days, like every time
//! in the service.
//!
//! Two banners of one slot never overlap in time, but they can share a *day* (one ends at 10:00,
//! the next starts at 14:00). Their bars would then cover the same cell, so each row is split
//! into *lanes*: a bar goes into the first lane that is free on all its days, and the row grows
//! as tall as its lanes. That is the usual way calendars stack events.
//!
//! Nothing here does I/O, so the tests below can check the layout directly.

use time::macros::format_description;
use time::{Date, Duration, Month, OffsetDateTime, Weekday};

use crate::error::Error;
use crate::model::{Banner, Platform, SLOTS, Slot};

/// The earliest and latest years the calendar shows, so that date arithmetic stays far from the
/// limits of the date type.
pub const YEARS: std::ops::RangeInclusive<i32> = 1970..=9998;

/// How much the calendar shows at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Monday to Sunday.
    Week,
    /// A calendar month.
    Month,
    /// A calendar month and the next.
    TwoMonths,
}

impl View {
    pub const ALL: [View; 3] = [View::Week, View::Month, View::TwoMonths];

    /// The name in the query string: `week`, `month`, `2months`.
    pub fn as_str(self) -> &'static str {
        match self {
            View::Week => "week",
            View::Month => "month",
            View::TwoMonths => "2months",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        View::ALL.into_iter().find(|view| view.as_str() == raw)
    }

    /// The label of its button.
    pub fn label(self) -> &'static str {
        match self {
            View::Week => "Week",
            View::Month => "Month",
            View::TwoMonths => "2 months",
        }
    }
}

/// The days shown: `days` days from `first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub view: View,
    pub first: Date,
    pub days: i64,
}

impl Period {
    /// The period of `view` that contains `date`: its week (from Monday), its month, or its
    /// month and the next.
    pub fn containing(view: View, date: Date) -> Self {
        match view {
            View::Week => {
                let back = i64::from(date.weekday().number_days_from_monday());
                Self {
                    view,
                    first: date.saturating_sub(Duration::days(back)),
                    days: 7,
                }
            }
            View::Month | View::TwoMonths => {
                let first = first_of_month(date);
                let months = if view == View::Month { 1 } else { 2 };
                let after = add_months(first, months);
                Self {
                    view,
                    first,
                    days: (after - first).whole_days(),
                }
            }
        }
    }

    /// The first instant shown (midnight UTC of the first day).
    pub fn from(&self) -> OffsetDateTime {
        self.first.midnight().assume_utc()
    }

    /// The first instant after the period.
    pub fn to(&self) -> OffsetDateTime {
        self.from() + Duration::days(self.days)
    }

    /// A day of the period before, for the "previous" link.
    pub fn previous(&self) -> Date {
        match self.view {
            View::Week => self.first.saturating_sub(Duration::days(7)),
            View::Month => add_months(self.first, -1),
            View::TwoMonths => add_months(self.first, -2),
        }
    }

    /// A day of the period after, for the "next" link.
    pub fn next(&self) -> Date {
        self.first.saturating_add(Duration::days(self.days))
    }

    fn last(&self) -> Date {
        self.first.saturating_add(Duration::days(self.days - 1))
    }

    /// `1 Jun – 7 Jun 2026`, `June 2026`, `June – July 2026`.
    pub fn title(&self) -> String {
        let (first, last) = (self.first, self.last());
        match self.view {
            View::Week => format!(
                "{} {} – {} {} {}",
                first.day(),
                month_short(first.month()),
                last.day(),
                month_short(last.month()),
                last.year()
            ),
            View::Month => format!("{} {}", first.month(), first.year()),
            View::TwoMonths if first.year() == last.year() => {
                format!("{} – {} {}", first.month(), last.month(), last.year())
            }
            View::TwoMonths => format!(
                "{} {} – {} {}",
                first.month(),
                first.year(),
                last.month(),
                last.year()
            ),
        }
    }
}

/// One column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    pub date: Date,
    /// `Mon`.
    pub weekday: &'static str,
    pub number: u8,
    /// `Jun`, on the first column and on the first of each month.
    pub month: Option<&'static str>,
    pub today: bool,
    pub weekend: bool,
}

/// One platform slot's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub platform: Platform,
    pub slot: Slot,
    /// How many lanes the bars need (at least 1).
    pub lanes: usize,
    pub bars: Vec<Bar>,
}

impl Row {
    /// `desktop-1`: the row's HTML id.
    pub fn id(&self) -> String {
        format!("{}-{}", self.platform, self.slot)
    }

    /// `DESKTOP 1`.
    pub fn label(&self) -> String {
        format!("{} {}", self.platform.as_str().to_uppercase(), self.slot)
    }
}

/// A banner's bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    pub id: i64,
    pub title: String,
    /// The first column it covers, from 1 (CSS grid lines count from 1).
    pub column: i64,
    /// How many columns it covers.
    pub span: i64,
    /// Its lane in the row, from 1.
    pub lane: usize,
    /// The start: `09:00`, or `28 May 09:00` when it began before the period.
    pub starts: String,
    /// The whole schedule, for the tooltip.
    pub schedule: String,
    /// It began before the first day shown.
    pub clipped_start: bool,
    /// It goes on after the last day shown.
    pub clipped_end: bool,
}

/// The whole grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    pub period: Period,
    pub days: Vec<Day>,
    pub rows: Vec<Row>,
}

/// Lays out `banners` (in any order) over `period`; `today` is highlighted.
pub fn layout(period: &Period, banners: &[Banner], today: Date) -> Calendar {
    let days = (0..period.days)
        .map(|i| {
            let date = period.first.saturating_add(Duration::days(i));
            Day {
                date,
                weekday: weekday_short(date.weekday()),
                number: date.day(),
                month: (i == 0 || date.day() == 1).then(|| month_short(date.month())),
                today: date == today,
                weekend: matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday),
            }
        })
        .collect();

    let mut rows: Vec<Row> = [Platform::Mobile, Platform::Desktop]
        .into_iter()
        .flat_map(|platform| {
            SLOTS.filter_map(move |n| {
                let slot = Slot::try_from(i64::from(n)).ok()?;
                Some(Row {
                    platform,
                    slot,
                    lanes: 1,
                    bars: Vec::new(),
                })
            })
        })
        .collect();

    let mut shown: Vec<&Banner> = banners
        .iter()
        .filter(|b| b.starts_at < period.to() && b.ends_at > period.from())
        .collect();
    shown.sort_by_key(|b| (b.starts_at, b.id));
    // The last column taken in each lane, per row.
    let mut lane_ends: Vec<Vec<i64>> = vec![Vec::new(); rows.len()];
    for banner in shown {
        let Some(index) = rows
            .iter()
            .position(|r| (r.platform, r.slot) == (banner.platform, banner.slot))
        else {
            continue;
        };
        let clipped_start = banner.starts_at < period.from();
        let clipped_end = banner.ends_at > period.to();
        let first = if clipped_start {
            0
        } else {
            (banner.starts_at.date() - period.first).whole_days()
        };
        // `ends_at` is excluded: a banner ending at midnight does not cover the day that starts.
        let last = if clipped_end {
            period.days - 1
        } else {
            ((banner.ends_at - Duration::SECOND).date() - period.first).whole_days()
        };
        let lanes = &mut lane_ends[index];
        let lane = match lanes.iter().position(|&end| end < first) {
            Some(free) => {
                lanes[free] = last;
                free
            }
            None => {
                lanes.push(last);
                lanes.len() - 1
            }
        };
        let row = &mut rows[index];
        row.lanes = row.lanes.max(lane + 1);
        row.bars.push(Bar {
            id: banner.id,
            title: banner.title.clone(),
            column: first + 1,
            span: last - first + 1,
            lane: lane + 1,
            starts: if clipped_start {
                let t = banner.starts_at;
                format!(
                    "{} {} {:02}:{:02}",
                    t.day(),
                    month_short(t.month()),
                    t.hour(),
                    t.minute()
                )
            } else {
                format!(
                    "{:02}:{:02}",
                    banner.starts_at.hour(),
                    banner.starts_at.minute()
                )
            },
            schedule: banner.schedule(),
            clipped_start,
            clipped_end,
        });
    }
    Calendar {
        period: *period,
        days,
        rows,
    }
}

/// A day as a query string gives it, `2026-06-01`, within [`YEARS`].
pub fn parse_day(field: &'static str, raw: &str) -> Result<Date, Error> {
    let bad = || {
        Error::invalid(
            field,
            format!(
                "must be a day such as 2026-06-01, between the years {} and {}, got {raw:?}",
                YEARS.start(),
                YEARS.end()
            ),
        )
    };
    let day =
        Date::parse(raw.trim(), format_description!("[year]-[month]-[day]")).map_err(|_| bad())?;
    if !YEARS.contains(&day.year()) {
        return Err(bad());
    }
    Ok(day)
}

fn first_of_month(date: Date) -> Date {
    date.replace_day(1).unwrap_or(date)
}

/// The first of the month `months` after (or before) `first`'s month.
fn add_months(first: Date, months: i32) -> Date {
    let index = first.year() * 12 + i32::from(u8::from(first.month())) - 1 + months;
    let month = u8::try_from(index.rem_euclid(12) + 1)
        .ok()
        .and_then(|m| Month::try_from(m).ok());
    month
        .and_then(|m| Date::from_calendar_date(index.div_euclid(12), m, 1).ok())
        .unwrap_or(first)
}

fn weekday_short(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "Mon",
        Weekday::Tuesday => "Tue",
        Weekday::Wednesday => "Wed",
        Weekday::Thursday => "Thu",
        Weekday::Friday => "Fri",
        Weekday::Saturday => "Sat",
        Weekday::Sunday => "Sun",
    }
}

fn month_short(month: Month) -> &'static str {
    match month {
        Month::January => "Jan",
        Month::February => "Feb",
        Month::March => "Mar",
        Month::April => "Apr",
        Month::May => "May",
        Month::June => "Jun",
        Month::July => "Jul",
        Month::August => "Aug",
        Month::September => "Sep",
        Month::October => "Oct",
        Month::November => "Nov",
        Month::December => "Dec",
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    fn banner(
        id: i64,
        platform: Platform,
        slot: i64,
        starts: OffsetDateTime,
        ends: OffsetDateTime,
    ) -> Banner {
        Banner {
            id,
            title: format!("banner {id}"),
            platform,
            slot: Slot::try_from(slot).expect("in range"),
            starts_at: starts,
            ends_at: ends,
            image_url: None,
            link_url: None,
            created_at: starts,
            updated_at: starts,
            created_by: None,
            updated_by: None,
        }
    }

    #[test]
    fn periods_start_on_monday_or_the_first_of_the_month() {
        // 2026-06-10 is a Wednesday.
        let week = Period::containing(View::Week, date!(2026 - 06 - 10));
        assert_eq!((week.first, week.days), (date!(2026 - 06 - 08), 7));
        assert_eq!(week.title(), "8 Jun – 14 Jun 2026");
        assert_eq!(week.previous(), date!(2026 - 06 - 01));
        assert_eq!(week.next(), date!(2026 - 06 - 15));

        let month = Period::containing(View::Month, date!(2026 - 02 - 17));
        assert_eq!((month.first, month.days), (date!(2026 - 02 - 01), 28));
        assert_eq!(month.title(), "February 2026");
        assert_eq!(month.previous(), date!(2026 - 01 - 01));
        assert_eq!(month.next(), date!(2026 - 03 - 01));

        let two = Period::containing(View::TwoMonths, date!(2026 - 12 - 05));
        assert_eq!((two.first, two.days), (date!(2026 - 12 - 01), 31 + 31));
        assert_eq!(two.title(), "December 2026 – January 2027");
        assert_eq!(two.previous(), date!(2026 - 10 - 01));
        assert_eq!(two.next(), date!(2027 - 02 - 01));
        assert_eq!(two.to(), datetime!(2027-02-01 00:00 UTC));
    }

    #[test]
    fn days_are_parsed_within_the_years_shown() {
        assert_eq!(
            parse_day("start", "2026-06-01").ok(),
            Some(date!(2026 - 06 - 01))
        );
        for bad in [
            "2026-6-1",
            "June",
            "9999-12-31",
            "1900-01-01",
            "2026-02-30",
            "",
        ] {
            assert!(parse_day("start", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn twelve_rows_mobile_first_and_one_column_per_day() {
        let period = Period::containing(View::Week, date!(2026 - 06 - 10));
        let calendar = layout(&period, &[], date!(2026 - 06 - 10));
        let labels: Vec<String> = calendar.rows.iter().map(Row::label).collect();
        assert_eq!(labels.len(), 12);
        assert_eq!(labels[0], "MOBILE 1");
        assert_eq!(labels[11], "DESKTOP 6");
        assert_eq!(calendar.days.len(), 7);
        assert_eq!(calendar.days[0].weekday, "Mon");
        assert_eq!(calendar.days[0].month, Some("Jun"));
        assert!(calendar.days[2].today);
        assert!(calendar.days[5].weekend && calendar.days[6].weekend);
    }

    #[test]
    fn a_bar_spans_its_days_and_is_cut_at_the_edges() {
        let period = Period::containing(View::Week, date!(2026 - 06 - 10)); // 8 to 14 June
        let banners = [
            // Wednesday 09:30 to Friday midnight: Wednesday and Thursday only.
            banner(
                1,
                Platform::Desktop,
                1,
                datetime!(2026-06-10 09:30 UTC),
                datetime!(2026-06-12 00:00 UTC),
            ),
            // From May, on into July.
            banner(
                2,
                Platform::Mobile,
                3,
                datetime!(2026-05-28 08:00 UTC),
                datetime!(2026-07-01 00:00 UTC),
            ),
            // Entirely before the week: not shown.
            banner(
                3,
                Platform::Mobile,
                3,
                datetime!(2026-05-01 00:00 UTC),
                datetime!(2026-05-02 00:00 UTC),
            ),
        ];
        let calendar = layout(&period, &banners, date!(2026 - 01 - 01));
        let desktop_1 = &calendar.rows[6];
        assert_eq!(desktop_1.label(), "DESKTOP 1");
        let bar = &desktop_1.bars[0];
        assert_eq!((bar.column, bar.span, bar.lane), (3, 2, 1));
        assert_eq!(bar.starts, "09:30");
        assert!(!bar.clipped_start && !bar.clipped_end);

        let mobile_3 = &calendar.rows[2];
        assert_eq!(mobile_3.bars.len(), 1);
        let long = &mobile_3.bars[0];
        assert_eq!((long.column, long.span), (1, 7));
        assert!(long.clipped_start && long.clipped_end);
        assert_eq!(long.starts, "28 May 08:00");
    }

    #[test]
    fn banners_sharing_a_day_get_separate_lanes() {
        let period = Period::containing(View::Week, date!(2026 - 06 - 10));
        let banners = [
            banner(
                1,
                Platform::Mobile,
                1,
                datetime!(2026-06-08 00:00 UTC),
                datetime!(2026-06-10 10:00 UTC),
            ),
            banner(
                2,
                Platform::Mobile,
                1,
                datetime!(2026-06-10 14:00 UTC),
                datetime!(2026-06-11 00:00 UTC),
            ),
            banner(
                3,
                Platform::Mobile,
                1,
                datetime!(2026-06-12 00:00 UTC),
                datetime!(2026-06-13 00:00 UTC),
            ),
        ];
        let calendar = layout(&period, &banners, date!(2026 - 01 - 01));
        let row = &calendar.rows[0];
        let lanes: Vec<usize> = row.bars.iter().map(|b| b.lane).collect();
        assert_eq!(lanes, [1, 2, 1]);
        assert_eq!(row.lanes, 2);
    }
}

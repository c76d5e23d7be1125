//! Where a banner shows: one of the six slots of the mobile or the desktop site. Each type here
//! can only hold a valid value, so code that has one need not check it again.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The slots of each platform, numbered from 1.
pub const SLOTS: std::ops::RangeInclusive<u8> = 1..=6;

/// Which site a banner slot belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Mobile,
    Desktop,
}

impl Platform {
    /// The name used in JSON, in query strings and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Mobile => "mobile",
            Platform::Desktop => "desktop",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = Error;

    fn from_str(raw: &str) -> Result<Self, Error> {
        match raw {
            "mobile" => Ok(Platform::Mobile),
            "desktop" => Ok(Platform::Desktop),
            _ => Err(Error::invalid(
                "platform",
                format!("must be mobile or desktop, got {raw:?}"),
            )),
        }
    }
}

/// A slot number, 1 to 6. Holding a `Slot` proves the number is in range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Slot(u8);

impl Slot {
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<i64> for Slot {
    type Error = Error;

    fn try_from(n: i64) -> Result<Self, Error> {
        u8::try_from(n)
            .ok()
            .filter(|n| SLOTS.contains(n))
            .map(Slot)
            .ok_or_else(|| {
                Error::invalid(
                    "slot",
                    format!(
                        "must be between {} and {}, got {n}",
                        SLOTS.start(),
                        SLOTS.end()
                    ),
                )
            })
    }
}

impl FromStr for Slot {
    type Err = Error;

    /// A slot from a query string, where it arrives as text.
    fn from_str(raw: &str) -> Result<Self, Error> {
        let n: i64 = raw.parse().map_err(|_| {
            Error::invalid(
                "slot",
                format!(
                    "must be a whole number between {} and {}, got {raw:?}",
                    SLOTS.start(),
                    SLOTS.end()
                ),
            )
        })?;
        Slot::try_from(n)
    }
}

impl From<Slot> for i64 {
    fn from(slot: Slot) -> i64 {
        i64::from(slot.0)
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_parse_from_query_text() {
        assert_eq!("6".parse::<Slot>().expect("in range").get(), 6);
        assert!("abc".parse::<Slot>().is_err());
        assert!("7".parse::<Slot>().is_err());
    }
}

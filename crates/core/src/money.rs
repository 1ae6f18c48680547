//! Money as integer micro-dollars (1 USD = 1_000_000). Floats never hold money.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount of US dollars in micro-dollars.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(i64);

impl Money {
    /// Zero dollars.
    pub const ZERO: Money = Money(0);
    /// Micro-dollars per dollar.
    pub const MICROS_PER_DOLLAR: i64 = 1_000_000;

    /// From micro-dollars.
    pub const fn from_micros(micros: i64) -> Self {
        Money(micros)
    }

    /// From whole cents; saturates on overflow.
    pub const fn from_cents(cents: i64) -> Self {
        Money(cents.saturating_mul(10_000))
    }

    /// The amount in micro-dollars.
    pub const fn micros(self) -> i64 {
        self.0
    }

    /// Adds, saturating at the bounds of `i64` instead of wrapping.
    pub const fn saturating_add(self, other: Money) -> Money {
        Money(self.0.saturating_add(other.0))
    }

    /// Subtracts, saturating at the bounds of `i64` instead of wrapping.
    pub const fn saturating_sub(self, other: Money) -> Money {
        Money(self.0.saturating_sub(other.0))
    }

    /// Parses a decimal dollar amount such as `12.5` or `0.000001` exactly (at most 6 decimals).
    pub fn parse_dollars(s: &str) -> Option<Money> {
        let s = s.trim();
        let (neg, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && frac.is_empty() {
            return None;
        }
        if frac.len() > 6
            || !whole
                .chars()
                .chain(frac.chars())
                .all(|c| c.is_ascii_digit())
        {
            return None;
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let mut frac_micros: i64 = if frac.is_empty() {
            0
        } else {
            frac.parse().ok()?
        };
        for _ in frac.len()..6 {
            frac_micros *= 10;
        }
        let micros = whole
            .checked_mul(Self::MICROS_PER_DOLLAR)?
            .checked_add(frac_micros)?;
        Some(Money(if neg { -micros } else { micros }))
    }
}

impl fmt::Display for Money {
    /// Dollars with six decimals, e.g. `$1.250000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}${}.{:06}", abs / 1_000_000, abs % 1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_exactly() {
        assert_eq!(
            Money::parse_dollars("12.5"),
            Some(Money::from_micros(12_500_000))
        );
        assert_eq!(
            Money::parse_dollars("0.000001"),
            Some(Money::from_micros(1))
        );
        assert_eq!(
            Money::parse_dollars("-3"),
            Some(Money::from_micros(-3_000_000))
        );
        assert_eq!(Money::parse_dollars("1.0000001"), None);
        assert_eq!(Money::parse_dollars("abc"), None);
        assert_eq!(Money::parse_dollars("."), None);
        assert_eq!(Money::from_micros(1_250_000).to_string(), "$1.250000");
        assert_eq!(Money::from_micros(-5).to_string(), "-$0.000005");
    }

    #[test]
    fn arithmetic_saturates() {
        let max = Money::from_micros(i64::MAX);
        assert_eq!(max.saturating_add(Money::from_micros(1)), max);
        assert_eq!(Money::from_cents(150).micros(), 1_500_000);
    }
}

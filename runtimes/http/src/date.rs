//! The `Date` header: IMF-fixdate (RFC 9110 5.6.7) from a POSIX clock.

use alloc::format;
use alloc::string::String;

use mirage_runtime::log::civil_date;

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `days` since 1970-01-01 and `seconds` within the day, as
/// `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn imf_fixdate(days: i64, seconds: u64) -> String {
    let (year, month, day) = civil_date(days);
    format!(
        "{}, {day:02} {} {year:04} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::imf_fixdate;

    #[test]
    fn rfc_example_and_epoch() {
        // 1994-11-06 is day 9075.
        assert_eq!(
            imf_fixdate(9075, 8 * 3600 + 49 * 60 + 37),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(imf_fixdate(0, 0), "Thu, 01 Jan 1970 00:00:00 GMT");
        // 2000-02-29: a leap day of a century leap year.
        assert_eq!(imf_fixdate(11016, 0), "Tue, 29 Feb 2000 00:00:00 GMT");
    }
}

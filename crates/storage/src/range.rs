//! Byte ranges with HTTP `Range` semantics (RFC 9110 §14.1.2), so the server can pass a client's
//! `Range: bytes=…` header straight through and both backends answer the same way.

use std::fmt;

use crate::StorageError;

/// One byte range of an object, as in an HTTP `Range` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteRange {
    /// `bytes=N-`: from offset N to the end.
    From(u64),
    /// `bytes=N-M`: offsets N through M, inclusive. M past the end is clamped to the end.
    FromTo(u64, u64),
    /// `bytes=-N`: the last N bytes (the whole object when it is shorter).
    Suffix(u64),
}

impl fmt::Display for ByteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ByteRange::From(start) => write!(f, "bytes={start}-"),
            ByteRange::FromTo(start, end) => write!(f, "bytes={start}-{end}"),
            ByteRange::Suffix(len) => write!(f, "bytes=-{len}"),
        }
    }
}

impl ByteRange {
    /// Parses an HTTP `Range` header value such as `bytes=0-499`, `bytes=500-` or `bytes=-500`.
    /// Only a single range is supported (multipart/byteranges answers are not worth their
    /// complexity for recordings); anything else is `InvalidRange` with no size.
    pub fn parse_http(value: &str) -> Result<ByteRange, StorageError> {
        let malformed = || StorageError::InvalidRange {
            range: value.to_string(),
            size: None,
        };
        let spec = value.trim().strip_prefix("bytes=").ok_or_else(malformed)?.trim();
        if spec.contains(',') {
            return Err(malformed());
        }
        let (first, last) = spec.split_once('-').ok_or_else(malformed)?;
        let number = |s: &str| -> Result<u64, StorageError> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(malformed());
            }
            s.parse::<u64>().map_err(|_| malformed())
        };
        let range = match (first.trim(), last.trim()) {
            ("", "") => return Err(malformed()),
            ("", suffix) => ByteRange::Suffix(number(suffix)?),
            (start, "") => ByteRange::From(number(start)?),
            (start, end) => ByteRange::FromTo(number(start)?, number(end)?),
        };
        range.check_syntax()?;
        Ok(range)
    }

    /// Rejects ranges that no object could satisfy (`N-M` with M < N, `-0`), before any I/O.
    pub(crate) fn check_syntax(self) -> Result<(), StorageError> {
        let bad = match self {
            ByteRange::From(_) => false,
            ByteRange::FromTo(start, end) => end < start,
            ByteRange::Suffix(len) => len == 0,
        };
        if bad {
            Err(StorageError::InvalidRange {
                range: self.to_string(),
                size: None,
            })
        } else {
            Ok(())
        }
    }

    /// Resolves the range against an object of `total` bytes into inclusive `(first, last)`
    /// offsets, or `InvalidRange` (HTTP 416) when nothing of the object is selected.
    pub fn resolve(self, total: u64) -> Result<(u64, u64), StorageError> {
        let unsatisfiable = || StorageError::InvalidRange {
            range: self.to_string(),
            size: Some(total),
        };
        self.check_syntax().map_err(|_| unsatisfiable())?;
        if total == 0 {
            return Err(unsatisfiable());
        }
        match self {
            ByteRange::From(start) if start < total => Ok((start, total - 1)),
            ByteRange::FromTo(start, end) if start < total => Ok((start, end.min(total - 1))),
            ByteRange::Suffix(len) => Ok((total - len.min(total), total - 1)),
            _ => Err(unsatisfiable()),
        }
    }
}

/// Parses a `Content-Range: bytes first-last/total` response header into `(first, last, total)`.
pub(crate) fn parse_content_range(value: &str) -> Option<(u64, u64, u64)> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (span, total) = rest.split_once('/')?;
    let (first, last) = span.split_once('-')?;
    let first = first.trim().parse().ok()?;
    let last = last.trim().parse().ok()?;
    let total = total.trim().parse().ok()?;
    (first <= last && last < total).then_some((first, last, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(r: Result<(u64, u64), StorageError>) -> Option<Option<u64>> {
        match r {
            Err(StorageError::InvalidRange { size, .. }) => Some(size),
            _ => None,
        }
    }

    #[test]
    fn parses_http_ranges() {
        assert_eq!(ByteRange::parse_http("bytes=0-499").unwrap(), ByteRange::FromTo(0, 499));
        assert_eq!(ByteRange::parse_http("bytes=500-").unwrap(), ByteRange::From(500));
        assert_eq!(ByteRange::parse_http("bytes=-500").unwrap(), ByteRange::Suffix(500));
        assert_eq!(
            ByteRange::parse_http(" bytes= 7 - 9 ").unwrap(),
            ByteRange::FromTo(7, 9)
        );
        assert_eq!(ByteRange::parse_http("bytes=5-5").unwrap(), ByteRange::FromTo(5, 5));
    }

    #[test]
    fn rejects_malformed_http_ranges() {
        for value in [
            "",
            "bytes=",
            "bytes=-",
            "bytes=a-b",
            "bytes=1-2,4-5",
            "items=0-1",
            "bytes=9-3",
            "bytes=-0",
            "bytes=+1-2",
            "bytes=18446744073709551616-",
            "bytes=1",
        ] {
            match ByteRange::parse_http(value) {
                Err(StorageError::InvalidRange { range, size: None }) => assert_eq!(range, value),
                other => panic!("{value:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn display_round_trips() {
        for range in [ByteRange::From(3), ByteRange::FromTo(1, 2), ByteRange::Suffix(9)] {
            assert_eq!(ByteRange::parse_http(&range.to_string()).unwrap(), range);
        }
    }

    #[test]
    fn resolves_against_size() {
        assert_eq!(ByteRange::From(0).resolve(10).unwrap(), (0, 9));
        assert_eq!(ByteRange::From(9).resolve(10).unwrap(), (9, 9));
        assert_eq!(ByteRange::FromTo(2, 4).resolve(10).unwrap(), (2, 4));
        assert_eq!(ByteRange::FromTo(2, 400).resolve(10).unwrap(), (2, 9));
        assert_eq!(ByteRange::FromTo(9, 9).resolve(10).unwrap(), (9, 9));
        assert_eq!(ByteRange::Suffix(3).resolve(10).unwrap(), (7, 9));
        assert_eq!(ByteRange::Suffix(10).resolve(10).unwrap(), (0, 9));
        assert_eq!(ByteRange::Suffix(u64::MAX).resolve(10).unwrap(), (0, 9));
        assert_eq!(
            ByteRange::FromTo(0, u64::MAX).resolve(u64::MAX).unwrap(),
            (0, u64::MAX - 1)
        );
    }

    #[test]
    fn unsatisfiable_ranges_carry_the_size() {
        assert_eq!(invalid(ByteRange::From(10).resolve(10)), Some(Some(10)));
        assert_eq!(invalid(ByteRange::FromTo(10, 20).resolve(10)), Some(Some(10)));
        assert_eq!(invalid(ByteRange::FromTo(5, 4).resolve(10)), Some(Some(10)));
        assert_eq!(invalid(ByteRange::Suffix(0).resolve(10)), Some(Some(10)));
        // An empty object has no satisfiable range at all.
        assert_eq!(invalid(ByteRange::From(0).resolve(0)), Some(Some(0)));
        assert_eq!(invalid(ByteRange::Suffix(5).resolve(0)), Some(Some(0)));
    }

    #[test]
    fn parses_content_range() {
        assert_eq!(parse_content_range("bytes 0-9/10"), Some((0, 9, 10)));
        assert_eq!(parse_content_range("bytes 7-7/8"), Some((7, 7, 8)));
        assert_eq!(parse_content_range("bytes */10"), None);
        assert_eq!(parse_content_range("bytes 5-4/10"), None);
        assert_eq!(parse_content_range("bytes 0-10/10"), None);
        assert_eq!(parse_content_range("bytes 0-9/*"), None);
    }
}

//! Object key rules, shared by both backends so that a key that works on one works on the other.

use crate::StorageError;

/// Longest key accepted, in bytes. S3 allows 1024; half leaves room for a bucket prefix and keeps
/// filesystem paths well under `PATH_MAX`.
pub const MAX_KEY_LEN: usize = 512;

/// Characters allowed in keys. Deliberately small: they are safe in URLs, in S3 and as file names,
/// and the filesystem backend relies on temp files using a character outside this set.
fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/')
}

/// Shortens a rejected key for an error message (keys can be arbitrarily long user input).
fn shown(key: &str) -> String {
    const SHOWN: usize = 80;
    if key.chars().count() <= SHOWN {
        format!("{key:?}")
    } else {
        let head: String = key.chars().take(SHOWN).collect();
        format!("{head:?}…")
    }
}

fn invalid(key: &str, why: &str) -> StorageError {
    StorageError::InvalidKey(format!("key {} {why}", shown(key)))
}

/// Checks everything but emptiness: length, alphabet and the segment rules.
fn check_segments(key: &str) -> Result<(), StorageError> {
    if key.len() > MAX_KEY_LEN {
        return Err(invalid(key, &format!("is longer than {MAX_KEY_LEN} bytes")));
    }
    if let Some(c) = key.chars().find(|c| !allowed(*c)) {
        return Err(invalid(
            key,
            &format!("contains {c:?}; only A-Z a-z 0-9 . _ - / are allowed"),
        ));
    }
    for segment in key.split('/') {
        match segment {
            "" => return Err(invalid(key, "has an empty segment (leading, trailing or doubled '/')")),
            "." | ".." => return Err(invalid(key, "has a '.' or '..' segment")),
            _ => {}
        }
    }
    Ok(())
}

/// Validates an object key: relative, `/`-separated, `[A-Za-z0-9._/-]`, no empty, `.` or `..`
/// segments, at most [`MAX_KEY_LEN`] bytes. This is what keeps the filesystem backend inside its
/// root, so every public operation calls it before touching a backend.
pub fn validate_key(key: &str) -> Result<(), StorageError> {
    if key.is_empty() {
        return Err(StorageError::InvalidKey("key is empty".to_string()));
    }
    check_segments(key)
}

/// Validates a listing prefix. A prefix is a plain string prefix of keys (`rec/1` matches
/// `rec/1/a` and `rec/10`), so its last segment may be partial or empty (`rec/`), but everything
/// up to the last `/` must be a valid key because the filesystem backend turns it into a path.
pub fn validate_prefix(prefix: &str) -> Result<(), StorageError> {
    if prefix.len() > MAX_KEY_LEN {
        return Err(invalid(prefix, &format!("is longer than {MAX_KEY_LEN} bytes")));
    }
    if let Some(c) = prefix.chars().find(|c| !allowed(*c)) {
        return Err(invalid(
            prefix,
            &format!("contains {c:?}; only A-Z a-z 0-9 . _ - / are allowed"),
        ));
    }
    match prefix.rsplit_once('/') {
        Some((dir, _)) => check_segments(dir).and_then(|()| {
            if dir.is_empty() {
                Err(invalid(prefix, "starts with '/'"))
            } else {
                Ok(())
            }
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_invalid(r: Result<(), StorageError>) -> bool {
        matches!(r, Err(StorageError::InvalidKey(_)))
    }

    #[test]
    fn accepts_ordinary_keys() {
        for key in [
            "a",
            "recordings/01J/video.webm",
            "a-b_c.d/E9",
            ".hidden/x",
            "..x/y..",
            "a/b/c/d/e",
        ] {
            assert!(validate_key(key).is_ok(), "{key}");
        }
        assert!(validate_key(&"k".repeat(MAX_KEY_LEN)).is_ok());
    }

    #[test]
    fn rejects_bad_keys() {
        let long = "k".repeat(MAX_KEY_LEN + 1);
        for key in [
            "",
            "/abs",
            "trailing/",
            "a//b",
            ".",
            "..",
            "a/../b",
            "a/./b",
            "../escape",
            "a/..",
            "sp ace",
            "back\\slash",
            "percent%2F",
            "ünï",
            "tmp~file",
            "nul\0",
            long.as_str(),
        ] {
            assert!(is_invalid(validate_key(key)), "{key:?} should be rejected");
        }
    }

    #[test]
    fn error_messages_are_short_and_say_why() {
        let Err(StorageError::InvalidKey(msg)) = validate_key(&"x".repeat(10_000)) else {
            panic!("expected InvalidKey");
        };
        assert!(msg.len() < 200, "{msg}");
        assert!(msg.contains("longer than 512"), "{msg}");
        let Err(StorageError::InvalidKey(msg)) = validate_key("a/../b") else {
            panic!("expected InvalidKey");
        };
        assert!(msg.contains("'..'"), "{msg}");
    }

    #[test]
    fn prefixes() {
        for prefix in ["", "a", "rec/", "rec/1", "rec/1/", "rec/.", "..", "a.b"] {
            assert!(validate_prefix(prefix).is_ok(), "{prefix:?}");
        }
        for prefix in ["/", "/a", "a//", "../", "a/../", "./x", "a b", "a/./b"] {
            assert!(is_invalid(validate_prefix(prefix)), "{prefix:?} should be rejected");
        }
    }
}

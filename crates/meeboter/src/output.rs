//! Every line a command prints goes through here, so no command panics on a closed
//! stdout or stderr (`meeboter openapi | head`, `meeboter keys list | head -1`).
//!
//! `println!` panics when the write fails, and Rust ignores SIGPIPE, so a reader that goes
//! away (the `head` of a pipeline) turns into a panic with a stack trace. Restoring the
//! default SIGPIPE action would need `unsafe` (forbidden in this workspace) and would kill
//! the process in the middle of whatever it was doing, e.g. between creating a key and
//! committing it. Instead: once stdout is found closed (`BrokenPipe`), later output is
//! dropped and the command runs to its own end, so its exit status still tells the truth
//! (`config check | head` exits 1 on problems, `keys list | head -1` exits 0). Output that
//! must be seen — a secret shown once — is written with [`try_line`], which reports the
//! failure so the caller can undo what it was about to keep.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// `println!` that never panics: see the module documentation.
macro_rules! outln {
    () => { $crate::output::line(format_args!("")) };
    ($($arg:tt)*) => { $crate::output::line(format_args!($($arg)*)) };
}

/// `print!` that never panics.
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::text(format_args!($($arg)*)) };
}

/// `eprintln!` that never panics: a message nobody can read is dropped.
macro_rules! errln {
    () => { $crate::output::err_line(format_args!("")) };
    ($($arg:tt)*) => { $crate::output::err_line(format_args!($($arg)*)) };
}

/// Writes one line to stdout. A closed stdout (`BrokenPipe`) silences stdout for the rest
/// of the run; any other write error is reported once on stderr and silences it too.
pub fn line(args: std::fmt::Arguments<'_>) {
    write_stdout(args, true);
}

/// Writes to stdout without a newline (same rules as [`line`]).
pub fn text(args: std::fmt::Arguments<'_>) {
    write_stdout(args, false);
}

fn write_stdout(args: std::fmt::Arguments<'_>, newline: bool) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    if let Err(e) = try_write(args, newline) {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != io::ErrorKind::BrokenPipe {
            err_line(format_args!("error: cannot write to stdout: {e}"));
        }
    }
}

/// Writes one line to stdout and flushes it, reporting failure (including a closed pipe):
/// for output the user must see, such as a secret shown only once.
pub fn try_line(args: std::fmt::Arguments<'_>) -> io::Result<()> {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Err(io::Error::new(io::ErrorKind::BrokenPipe, "stdout is closed"));
    }
    try_write(args, true).inspect_err(|_| STDOUT_CLOSED.store(true, Ordering::Relaxed))
}

fn try_write(args: std::fmt::Arguments<'_>, newline: bool) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_fmt(args)?;
    if newline {
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Writes one line to stderr, ignoring failure.
pub fn err_line(args: std::fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args);
    let _ = err.write_all(b"\n");
}

/// Writes one line to stderr and reports failure (the first admin key).
pub fn try_err_line(args: std::fmt::Arguments<'_>) -> io::Result<()> {
    let mut err = io::stderr().lock();
    err.write_fmt(args)?;
    err.write_all(b"\n")?;
    err.flush()
}

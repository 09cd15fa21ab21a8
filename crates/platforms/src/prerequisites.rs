//! What a machine needs to run `meeboter bot` itself (the local platform): Chromium, and for
//! recordings Xvfb, PulseAudio and ffmpeg. Checked when the server starts and by `config
//! check`, so a missing tool is named before the first bot fails on it.

use std::path::{Path, PathBuf};

/// Names tried on `PATH` when `CHROMIUM_PATH` is not set — the bot runtime's own list
/// (`meeboter_bot::browser`; a test in the binary crate keeps the two equal).
pub const CHROMIUM_NAMES: [&str; 5] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "chrome",
];

/// The tools a recording bot starts, with the package that provides each on Debian/Ubuntu.
pub const RECORDING_TOOLS: [(&str, &str); 4] = [
    ("Xvfb", "xvfb"),
    ("pulseaudio", "pulseaudio"),
    ("ffmpeg", "ffmpeg"),
    ("ffprobe", "ffmpeg"),
];

/// One tool the bot runtime would not find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingTool {
    /// `chromium`, `Xvfb`, `pulseaudio`, `ffmpeg` or `ffprobe`.
    pub tool: &'static str,
    /// What is wrong and how to fix it, for a person.
    pub message: String,
}

/// The tools `meeboter bot` needs that are not found, given the `CHROMIUM_PATH` and `PATH`
/// bots will get. Recording tools are needed by every bot that records (video is the
/// default recording mode).
pub fn missing_tools(chromium_path: Option<&str>, path: Option<&str>) -> Vec<MissingTool> {
    let dirs: Vec<PathBuf> = path.map(|p| std::env::split_paths(p).collect()).unwrap_or_default();
    let on_path = |name: &str| dirs.iter().any(|d| is_executable(&d.join(name)));
    let mut missing = Vec::new();
    match chromium_path.filter(|p| !p.trim().is_empty()) {
        Some(p) if !is_executable(Path::new(p)) => missing.push(MissingTool {
            tool: "chromium",
            message: format!("CHROMIUM_PATH {p} is not an executable file; bots would fail browser_missing"),
        }),
        Some(_) => {}
        None if !CHROMIUM_NAMES.iter().any(|n| on_path(n)) => missing.push(MissingTool {
            tool: "chromium",
            message: format!(
                "no Chromium on PATH (looked for {}); install it (Debian/Ubuntu: apt-get install chromium) \
                 or set CHROMIUM_PATH — bots would fail browser_missing",
                CHROMIUM_NAMES.join(", ")
            ),
        }),
        None => {}
    }
    for (tool, package) in RECORDING_TOOLS {
        if !on_path(tool) {
            missing.push(MissingTool {
                tool,
                message: format!(
                    "{tool} is not on PATH; recording bots need it (Debian/Ubuntu: apt-get install {package}) \
                     — bots that record would fail recording_failed"
                ),
            });
        }
    }
    missing
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tool(dir: &Path, name: &str, mode: u32) {
        let p = dir.join(name);
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn every_missing_tool_is_named_with_its_fix() {
        let empty = tempfile::tempdir().unwrap();
        let missing = missing_tools(None, empty.path().to_str());
        let tools: Vec<&str> = missing.iter().map(|m| m.tool).collect();
        assert_eq!(tools, ["chromium", "Xvfb", "pulseaudio", "ffmpeg", "ffprobe"]);
        assert!(missing[0].message.contains("CHROMIUM_PATH"), "{}", missing[0].message);
        assert!(
            missing[1].message.contains("apt-get install xvfb"),
            "{}",
            missing[1].message
        );
    }

    #[test]
    fn tools_are_found_on_any_path_entry_and_must_be_executable() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        tool(a.path(), "google-chrome", 0o755);
        tool(a.path(), "Xvfb", 0o755);
        tool(b.path(), "pulseaudio", 0o755);
        tool(b.path(), "ffmpeg", 0o755);
        tool(b.path(), "ffprobe", 0o644); // not executable
        let path = std::env::join_paths([a.path(), b.path()]).unwrap();
        let missing = missing_tools(None, path.to_str());
        assert_eq!(missing.iter().map(|m| m.tool).collect::<Vec<_>>(), ["ffprobe"]);
    }

    #[test]
    fn an_explicit_chromium_path_must_be_runnable() {
        let dir = tempfile::tempdir().unwrap();
        tool(dir.path(), "chrome-bin", 0o755);
        let good = dir.path().join("chrome-bin");
        let chromium = |m: &[MissingTool]| m.iter().any(|m| m.tool == "chromium");
        assert!(!chromium(&missing_tools(good.to_str(), None)));
        let missing = missing_tools(Some("/nonexistent/chrome"), None);
        assert!(chromium(&missing));
        assert!(missing[0].message.contains("/nonexistent/chrome"));
    }
}

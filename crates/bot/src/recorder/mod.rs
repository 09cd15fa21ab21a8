//! Recording the call: a virtual screen (Xvfb) and a private sound server (PulseAudio) for
//! Chromium, ffmpeg capturing them into HLS segments, and an uploader that sends each
//! finished segment through the control channel while the call goes on.

pub mod spec;

pub use spec::RecordingSpec;

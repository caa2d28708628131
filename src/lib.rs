//! Spindle (work in progress).
pub use spindle_executor as executor;

//! spindle-timer (work in progress).

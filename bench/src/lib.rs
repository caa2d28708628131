//! spindle-bench (work in progress).

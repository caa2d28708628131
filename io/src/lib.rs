//! spindle-io (work in progress).

//! spindle-macros (work in progress).

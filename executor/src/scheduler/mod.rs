pub(crate) mod current_thread;
pub(crate) mod multi_thread;

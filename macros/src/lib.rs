//! Procedural macros for [Spindle](https://example.invalid/spindle), an async runtime:
//! `#[spindle::main]` and `#[spindle::test]`.
//!
//! Use them through the `spindle` crate, which re-exports them; this crate exists
//! only because procedural macros must live in a crate of their own.
//!
//! Each attribute turns an `async fn` into a plain `fn` that builds a runtime and
//! blocks on the original body, the way `asyncio.run(main())` does in Python:
//!
//! ```
//! use std::error::Error;
//!
//! #[spindle::main]
//! async fn main() -> Result<(), Box<dyn Error>> {
//!     let handle = spindle::spawn(async { 6 * 7 });
//!     println!("{}", handle.await?);
//!     Ok(())
//! }
//!
//! #[spindle::test(start_paused = true)]
//! async fn an_hour_passes_instantly() {
//!     spindle::time::sleep(std::time::Duration::from_secs(3600)).await;
//! }
//! ```
//!
//! becomes, for `main` (a sketch of the expansion, not code to compile):
//!
//! ```text
//! fn main() -> Result<(), Box<dyn Error>> {
//!     let body = async move { /* the original body */ };
//!     return ::spindle::runtime::Builder::new_multi_thread()
//!         .build()
//!         .expect("Failed building the Runtime")
//!         .block_on(body);
//! }
//! ```
//!
//! # Arguments
//!
//! | argument | values | default |
//! |---|---|---|
//! | `flavor` | `"multi_thread"` or `"current_thread"` | `"multi_thread"` for `main`, `"current_thread"` for `test` |
//! | `worker_threads` | an integer of at least 1; only with `"multi_thread"` | one per CPU |
//! | `start_paused` | `true` or `false`; only with `"current_thread"` | `false` |
//! | `crate` | the path of the `spindle` crate, as a string | `"::spindle"` |
//!
//! `#[spindle::test]` also adds `#[test]`, and keeps the function's other attributes
//! (such as `#[should_panic]`). Misuse (a function without `async`, a `main` with
//! parameters, an unknown or repeated argument, a value that does not fit) is a
//! compile error that says what to write instead.

mod args;
mod expand;
mod item;

use proc_macro::TokenStream;

/// Runs an `async fn main` on a Spindle runtime (multi-thread unless told otherwise).
///
/// ```
/// #[spindle::main(flavor = "current_thread")]
/// async fn main() {
///     println!("hello from {:?}", std::thread::current().id());
/// }
/// ```
///
/// Arguments: `flavor = "multi_thread" | "current_thread"`, `worker_threads = N`
/// (multi-thread only), `start_paused = true | false` (current-thread only),
/// `crate = "path::to::spindle"`.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand_main(args.into(), item.into()).into()
}

/// Runs an `async fn` test on a Spindle runtime (current-thread unless told otherwise).
///
/// ```
/// #[spindle::test(start_paused = true)]
/// async fn times_out() {
///     let never = std::future::pending::<()>();
///     let res = spindle::time::timeout(std::time::Duration::from_secs(60), never).await;
///     assert!(res.is_err());
/// }
/// # // A doctest is not compiled as a test, so the test itself does not run here; the
/// # // macro does, and rejects bad arguments at compile time.
/// ```
///
/// Takes the same arguments as [`macro@main`].
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand_test(args.into(), item.into()).into()
}

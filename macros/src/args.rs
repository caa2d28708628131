//! The attribute's arguments: `flavor`, `worker_threads`, `start_paused`, `crate`.
//!
//! Parsing never gives up on the whole attribute because of one bad argument: each
//! argument that fails is reported and then left at its default, so that the function
//! still expands and the user sees every mistake at once, without a cascade of
//! unrelated errors (such as "`main` function not found") on top.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Expr, Ident, Lit, LitBool, Path, Token};

/// Which attribute is being expanded; it decides the default flavor and the wording of
/// the errors (they quote the attribute the user should write).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Main,
    Test,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Main => "main",
            Kind::Test => "test",
        }
    }

    /// A program's `main` gets all the cores; a test gets one thread, which is
    /// deterministic and cheap when hundreds of tests each build a runtime.
    fn default_flavor(self) -> Flavor {
        match self {
            Kind::Main => Flavor::MultiThread,
            Kind::Test => Flavor::CurrentThread,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    CurrentThread,
    MultiThread,
}

impl Flavor {
    fn parse(name: &str) -> Option<Flavor> {
        match name {
            "current_thread" => Some(Flavor::CurrentThread),
            "multi_thread" => Some(Flavor::MultiThread),
            _ => None,
        }
    }
}

/// The validated arguments, ready for expansion.
pub(crate) struct Config {
    pub(crate) flavor: Flavor,
    /// The count and the span of the literal the user wrote, so a type error in the
    /// generated `.worker_threads(n)` call would point at it.
    pub(crate) worker_threads: Option<(usize, Span)>,
    pub(crate) start_paused: Option<LitBool>,
    /// `None` means the default `::spindle`, which the expansion spans itself.
    pub(crate) crate_path: Option<Path>,
}

impl Config {
    pub(crate) fn default_for(kind: Kind) -> Config {
        Config {
            flavor: kind.default_flavor(),
            worker_threads: None,
            start_paused: None,
            crate_path: None,
        }
    }
}

const VALID_ARGUMENTS: &str = "`flavor`, `worker_threads`, `start_paused` and `crate`";

/// The arguments the attributes understand.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Arg {
    Flavor,
    WorkerThreads,
    StartPaused,
    Crate,
}

impl Arg {
    fn from_name(name: &str) -> Option<Arg> {
        match name {
            "flavor" => Some(Arg::Flavor),
            "worker_threads" => Some(Arg::WorkerThreads),
            "start_paused" => Some(Arg::StartPaused),
            "crate" => Some(Arg::Crate),
            _ => None,
        }
    }
}

/// One `name = value` pair, as written.
struct RawArg {
    name: Ident,
    value: Expr,
}

/// Parses and validates the attribute's arguments. Always returns a usable `Config`
/// (defaults stand in for bad arguments) plus every error found.
pub(crate) fn parse(kind: Kind, args: TokenStream) -> (Config, Option<syn::Error>) {
    let mut config = Config::default_for(kind);
    let raw = match parse_raw.parse2(args) {
        Ok(raw) => raw,
        Err(err) => return (config, Some(err)),
    };

    let mut errors = Errors::default();
    let mut explicit_flavor = false;
    // The names of the arguments, to check their combinations once all are read.
    let mut worker_threads_name: Option<Ident> = None;
    let mut start_paused_name: Option<Ident> = None;
    let mut seen: Vec<Arg> = Vec::new();

    for RawArg { name, value } in raw {
        let key = name.unraw().to_string();
        let Some(which) = Arg::from_name(&key) else {
            errors.push(syn::Error::new(
                name.span(),
                format!(
                    "unknown argument `{key}`; the valid arguments are {VALID_ARGUMENTS}{}",
                    unknown_hint(&key)
                ),
            ));
            continue;
        };
        if seen.contains(&which) {
            errors.push(syn::Error::new(
                name.span(),
                format!("duplicate argument `{key}`: give each argument only once"),
            ));
            continue;
        }
        seen.push(which);

        match which {
            Arg::Flavor => match parse_flavor(&value) {
                Ok(flavor) => {
                    config.flavor = flavor;
                    explicit_flavor = true;
                }
                Err(err) => errors.push(err),
            },
            Arg::WorkerThreads => match parse_worker_threads(&value) {
                Ok(n) => {
                    config.worker_threads = Some(n);
                    worker_threads_name = Some(name);
                }
                Err(err) => errors.push(err),
            },
            Arg::StartPaused => match parse_start_paused(&value) {
                Ok(paused) => {
                    config.start_paused = Some(paused);
                    start_paused_name = Some(name);
                }
                Err(err) => errors.push(err),
            },
            Arg::Crate => match parse_crate_path(&value) {
                Ok(path) => config.crate_path = Some(path),
                Err(err) => errors.push(err),
            },
        }
    }

    // Combinations are checked after every argument is read, because the flavor may
    // come after the argument that depends on it.
    let attr = kind.name();
    if let (Some(name), Flavor::CurrentThread) = (&worker_threads_name, config.flavor) {
        let why = if explicit_flavor {
            String::new()
        } else {
            format!(", and #[spindle::{attr}] uses the current-thread runtime by default")
        };
        let n = config.worker_threads.map_or(1, |(n, _)| n);
        errors.push(syn::Error::new(
            name.span(),
            format!(
                "`worker_threads` requires the multi-thread runtime{why}: write \
                 `#[spindle::{attr}(flavor = \"multi_thread\", worker_threads = {n})]`, \
                 or remove `worker_threads`"
            ),
        ));
        config.worker_threads = None;
    }
    if let (Some(name), Flavor::MultiThread) = (&start_paused_name, config.flavor) {
        let why = if explicit_flavor {
            String::new()
        } else {
            format!(", and #[spindle::{attr}] uses the multi-thread runtime by default")
        };
        errors.push(syn::Error::new(
            name.span(),
            format!(
                "`start_paused` requires the current-thread runtime{why}: write \
                 `#[spindle::{attr}(flavor = \"current_thread\", start_paused = true)]`, \
                 or remove `start_paused`"
            ),
        ));
        config.start_paused = None;
    }

    (config, errors.into_error())
}

/// `name = value, name = value, ...` with an optional trailing comma. The value is
/// parsed as any expression so that a near miss (`flavor = current_thread`) gets an
/// error that says how to fix it rather than a bare "expected literal".
fn parse_raw(input: ParseStream<'_>) -> syn::Result<Vec<RawArg>> {
    let mut args = Vec::new();
    while !input.is_empty() {
        // `parse_any` so that the keyword `crate` is accepted as a name.
        let name = input.call(Ident::parse_any).map_err(|err| {
            syn::Error::new(
                err.span(),
                format!("expected an argument such as `flavor = \"current_thread\"`; the valid arguments are {VALID_ARGUMENTS}"),
            )
        })?;
        if !input.peek(Token![=]) {
            let key = name.unraw().to_string();
            return Err(syn::Error::new(
                name.span(),
                format!("`{key}` needs a value: write {}", example(&key)),
            ));
        }
        input.parse::<Token![=]>()?;
        let value: Expr = input.parse()?;
        args.push(RawArg { name, value });
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(args)
}

/// How to write an argument, for errors that quote it.
fn example(key: &str) -> String {
    match key {
        "flavor" => "`flavor = \"current_thread\"` or `flavor = \"multi_thread\"`".into(),
        "worker_threads" => "`worker_threads = 4`".into(),
        "start_paused" => "`start_paused = true`".into(),
        "crate" => "`crate = \"::spindle\"`".into(),
        other => format!("`{other} = ...`; the valid arguments are {VALID_ARGUMENTS}"),
    }
}

/// Names from other runtimes' macros, or plain guesses, mapped to ours.
fn unknown_hint(key: &str) -> &'static str {
    match key {
        "core_threads" | "threads" | "num_threads" | "workers" | "worker_thread" => {
            " (to set the number of worker threads, write `worker_threads = N`)"
        }
        "paused" | "pause" | "start_pause" => {
            " (to start with the clock paused, write `start_paused = true`)"
        }
        "runtime" | "scheduler" | "basic_scheduler" | "threaded_scheduler" => {
            " (to choose the runtime, write `flavor = \"current_thread\"` or `flavor = \"multi_thread\"`)"
        }
        _ => "",
    }
}

fn lit(value: &Expr) -> Option<&Lit> {
    match value {
        Expr::Lit(expr) => Some(&expr.lit),
        _ => None,
    }
}

fn parse_flavor(value: &Expr) -> syn::Result<Flavor> {
    match lit(value) {
        Some(Lit::Str(s)) => {
            let name = s.value();
            Flavor::parse(&name).ok_or_else(|| {
                let hint = match name.as_str() {
                    "single_thread" | "basic_scheduler" | "local" => {
                        " (for a runtime on the calling thread, use \"current_thread\")"
                    }
                    "threaded_scheduler" | "multi_threaded" | "multithread" => {
                        " (for a runtime with worker threads, use \"multi_thread\")"
                    }
                    _ => "",
                };
                syn::Error::new(
                    s.span(),
                    format!(
                        "unknown runtime flavor \"{name}\"; the valid flavors are \
                         \"current_thread\" and \"multi_thread\"{hint}"
                    ),
                )
            })
        }
        _ => {
            // A bare `flavor = current_thread`: say exactly what to quote.
            let suggestion = match value {
                Expr::Path(p)
                    if p.path
                        .get_ident()
                        .is_some_and(|i| Flavor::parse(&i.to_string()).is_some()) =>
                {
                    format!(
                        "`flavor = \"{}\"`",
                        p.path.get_ident().map(Ident::to_string).unwrap_or_default()
                    )
                }
                _ => example("flavor"),
            };
            Err(syn::Error::new_spanned(
                value,
                format!("the flavor must be a string literal: write {suggestion}"),
            ))
        }
    }
}

fn parse_worker_threads(value: &Expr) -> syn::Result<(usize, Span)> {
    match lit(value) {
        Some(Lit::Int(int)) => {
            let n: usize = int.base10_parse()?;
            if n == 0 {
                return Err(syn::Error::new(
                    int.span(),
                    "`worker_threads` must be at least 1: write `worker_threads = 1` or more, \
                     or use `flavor = \"current_thread\"` to run everything on the calling thread",
                ));
            }
            Ok((n, int.span()))
        }
        _ => Err(syn::Error::new_spanned(
            value,
            "`worker_threads` must be an integer literal of at least 1: write `worker_threads = 4`",
        )),
    }
}

fn parse_start_paused(value: &Expr) -> syn::Result<LitBool> {
    match lit(value) {
        Some(Lit::Bool(b)) => Ok(b.clone()),
        _ => Err(syn::Error::new_spanned(
            value,
            "`start_paused` must be `true` or `false`: write `start_paused = true`",
        )),
    }
}

fn parse_crate_path(value: &Expr) -> syn::Result<Path> {
    match lit(value) {
        // `LitStr::parse` gives every token of the path the literal's span, so a path
        // that does not resolve is reported at the string the user wrote.
        Some(Lit::Str(s)) => s.parse::<Path>().map_err(|_| {
            syn::Error::new(
                s.span(),
                format!(
                    "\"{}\" is not a path; `crate` names the spindle crate: write `crate = \"::spindle\"`",
                    s.value()
                ),
            )
        }),
        _ => Err(syn::Error::new_spanned(
            value,
            "`crate` must be a string literal holding the path of the spindle crate: \
             write `crate = \"::spindle\"`",
        )),
    }
}

/// Collects errors so that all of them reach the user in one compile.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, err: syn::Error) {
        match &mut self.0 {
            Some(first) => first.combine(err),
            None => self.0 = Some(err),
        }
    }

    pub(crate) fn extend(&mut self, err: Option<syn::Error>) {
        if let Some(err) = err {
            self.push(err);
        }
    }

    pub(crate) fn into_error(self) -> Option<syn::Error> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn ok(kind: Kind, args: TokenStream) -> Config {
        match parse(kind, args) {
            (config, None) => config,
            (_, Some(err)) => panic!("unexpected error: {err}"),
        }
    }

    fn err(kind: Kind, args: TokenStream) -> String {
        match parse(kind, args) {
            (_, Some(err)) => err
                .into_iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
            (_, None) => panic!("expected an error"),
        }
    }

    #[test]
    fn defaults_depend_on_the_attribute() {
        assert_eq!(ok(Kind::Main, quote!()).flavor, Flavor::MultiThread);
        assert_eq!(ok(Kind::Test, quote!()).flavor, Flavor::CurrentThread);
    }

    #[test]
    fn accepts_every_argument_and_a_trailing_comma() {
        let c = ok(
            Kind::Main,
            quote!(
                flavor = "multi_thread",
                worker_threads = 3,
                crate = "my::rt",
            ),
        );
        assert_eq!(c.flavor, Flavor::MultiThread);
        assert_eq!(c.worker_threads.map(|(n, _)| n), Some(3));
        let path = c.crate_path.expect("crate path");
        assert_eq!(quote!(#path).to_string(), "my :: rt");

        let c = ok(
            Kind::Main,
            quote!(start_paused = true, flavor = "current_thread"),
        );
        assert_eq!(c.flavor, Flavor::CurrentThread);
        assert!(c.start_paused.expect("start_paused").value);
    }

    #[test]
    fn flavor_may_come_after_the_argument_that_needs_it() {
        let c = ok(
            Kind::Test,
            quote!(worker_threads = 2, flavor = "multi_thread"),
        );
        assert_eq!(c.worker_threads.map(|(n, _)| n), Some(2));
    }

    #[test]
    fn bare_flavor_says_to_quote_it() {
        let e = err(Kind::Main, quote!(flavor = current_thread));
        assert!(e.contains("write `flavor = \"current_thread\"`"), "{e}");
    }

    #[test]
    fn argument_without_value_says_how_to_write_it() {
        let e = err(Kind::Test, quote!(start_paused));
        assert!(
            e.contains("`start_paused` needs a value: write `start_paused = true`"),
            "{e}"
        );
    }

    #[test]
    fn unknown_argument_gets_a_hint_when_we_can_guess() {
        let e = err(Kind::Main, quote!(core_threads = 2));
        assert!(e.contains("unknown argument `core_threads`"), "{e}");
        assert!(e.contains("write `worker_threads = N`"), "{e}");
    }

    #[test]
    fn every_bad_argument_is_reported_at_once() {
        let e = err(
            Kind::Main,
            quote!(flavor = "x", worker_threads = 0, bogus = 1),
        );
        assert!(e.contains("unknown runtime flavor"), "{e}");
        assert!(e.contains("must be at least 1"), "{e}");
        assert!(e.contains("unknown argument `bogus`"), "{e}");
    }

    #[test]
    fn bad_values_of_each_type() {
        let e = err(Kind::Main, quote!(worker_threads = "4"));
        assert!(e.contains("write `worker_threads = 4`"), "{e}");
        let e = err(Kind::Test, quote!(start_paused = 1));
        assert!(
            e.contains("`start_paused` must be `true` or `false`"),
            "{e}"
        );
        let e = err(Kind::Main, quote!(crate = spindle));
        assert!(e.contains("write `crate = \"::spindle\"`"), "{e}");
        let e = err(Kind::Main, quote!(crate = "not a path"));
        assert!(e.contains("\"not a path\" is not a path"), "{e}");
    }

    #[test]
    fn a_bad_argument_falls_back_to_its_default() {
        let (config, e) = parse(Kind::Main, quote!(flavor = "x", worker_threads = 0));
        assert!(e.is_some());
        assert_eq!(config.flavor, Flavor::MultiThread);
        assert!(config.worker_threads.is_none());
    }
}

//! The expansion of `#[spindle::main]` and `#[spindle::test]`.
//!
//! ```text
//! #[attrs] vis fn name() -> Ret {
//!     #![inner_attrs]
//!     let body = async move { <original body> };
//!     #[allow(clippy::expect_used, clippy::diverging_sub_expression, clippy::needless_return)]
//!     {
//!         return ::spindle::runtime::Builder::new_multi_thread()  // or new_current_thread()
//!             .worker_threads(N)                                  // only if given
//!             .start_paused(true)                                 // only if given
//!             .build()
//!             .expect("Failed building the Runtime")
//!             .block_on(body);
//!     }
//! }
//! ```

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::{Attribute, Meta};

use crate::args::{self, Config, Errors, Flavor, Kind};
use crate::item::{self, ItemFn};

pub(crate) fn expand_main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Main, args, item)
}

pub(crate) fn expand_test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Test, args, item)
}

fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        // Not a function we can read: give the tokens back untouched so that rustc
        // reports on them as it would without the attribute.
        Err(err) => return with_errors(Some(err), item),
    };

    let (config, args_error) = args::parse(kind, args);
    let mut errors = Errors::default();
    errors.extend(args_error);

    if func.sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            func.sig.fn_token,
            "the `async` keyword is missing from the function declaration: \
             write `async fn`",
        ));
        // Wrapping a synchronous body would compile into something the user did not
        // write; leave the function as it is and let our error be the one they see.
        return with_errors(errors.into_error(), item);
    }
    if !func.sig.inputs.is_empty() {
        let msg = match kind {
            Kind::Main => {
                "the `main` function cannot accept arguments: remove them and read the \
                 command line with `std::env::args()` instead"
            }
            Kind::Test => "test functions cannot accept arguments: remove them",
        };
        errors.push(syn::Error::new_spanned(&func.sig.inputs, msg));
    }
    if kind == Kind::Test {
        if let Some(attr) = func.outer_attrs.iter().find(|a| is_test_attribute(a)) {
            errors.push(syn::Error::new_spanned(
                attr,
                "a second test attribute is supplied: #[spindle::test] already makes this \
                 function a test, so remove this one",
            ));
        }
    }

    // The function is expanded even when something above is wrong, so that the body is
    // still type-checked and no error about a missing `main` piles on top of ours.
    with_errors(errors.into_error(), expand_fn(kind, &config, func))
}

fn with_errors(errors: Option<syn::Error>, tokens: TokenStream) -> TokenStream {
    let mut out = errors.map_or_else(TokenStream::new, syn::Error::into_compile_error);
    out.extend(tokens);
    out
}

fn expand_fn(kind: Kind, config: &Config, func: ItemFn) -> TokenStream {
    let (start, end) = func.last_stmt_spans();

    // The default path is spanned at the last statement together with the rest of the
    // chain (see `last_stmt_spans`); a user's `crate = "..."` keeps its literal's span
    // so that a path that does not resolve is reported where it was written.
    let crate_path = match &config.crate_path {
        Some(path) => path.to_token_stream(),
        None => quote_spanned!(start=> ::spindle),
    };
    let mut runtime = match config.flavor {
        Flavor::CurrentThread => {
            quote_spanned!(start=> #crate_path::runtime::Builder::new_current_thread())
        }
        Flavor::MultiThread => {
            quote_spanned!(start=> #crate_path::runtime::Builder::new_multi_thread())
        }
    };
    if let Some((n, span)) = config.worker_threads {
        // An unsuffixed literal, whatever suffix the user wrote, so it is a `usize`.
        let mut n = Literal::usize_unsuffixed(n);
        n.set_span(span);
        runtime.extend(quote_spanned!(start=> .worker_threads(#n)));
    }
    if let Some(paused) = &config.start_paused {
        runtime.extend(quote_spanned!(start=> .start_paused(#paused)));
    }

    // Mixed-site hygiene: the user's body cannot see or shadow this binding.
    let body_ident = Ident::new("body", Span::mixed_site());
    let async_body = item::braced_with_span(func.body, func.brace_span);
    // The explicit `return` makes the function's declared type the expected type of
    // `block_on`'s output, so `?` and `Ok(())` in the body infer exactly as they do in
    // a plain `fn`. The lints it would trip are about code the user did not write.
    let last_block = quote_spanned! {end=>
        #[allow(
            clippy::expect_used,
            clippy::diverging_sub_expression,
            clippy::needless_return,
            clippy::unwrap_in_result
        )]
        {
            return #runtime
                .build()
                .expect("Failed building the Runtime")
                .block_on(#body_ident);
        }
    };

    let test_attr = match kind {
        // Fully qualified, so a user's own `test` item in scope cannot capture it.
        Kind::Test => quote!(#[::core::prelude::v1::test]),
        Kind::Main => TokenStream::new(),
    };
    let ItemFn {
        outer_attrs,
        vis,
        mut sig,
        inner_attrs,
        ..
    } = func;
    sig.asyncness = None;
    let body_block = item::braced_with_span(
        quote! {
            #(#inner_attrs)*
            let #body_ident = async move #async_body;
            #last_block
        },
        func.brace_span,
    );
    quote! {
        #test_attr
        #(#outer_attrs)*
        #vis #sig #body_block
    }
}

/// `#[test]`, `#[core::prelude::v1::test]`, `#[::std::prelude::rust_2024::test]` and
/// the like: a second one would register the test twice, or test the synchronous
/// wrapper's body without a runtime, depending on the order.
fn is_test_attribute(attr: &Attribute) -> bool {
    let Meta::Path(path) = &attr.meta else {
        return false;
    };
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    match segments.as_slice() {
        [test] => path.leading_colon.is_none() && test == "test",
        [root, prelude, _edition, test] => {
            (root == "core" || root == "std") && prelude == "prelude" && test == "test"
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The expansion as text, with the spacing `TokenStream`'s `Display` gives.
    fn main_(args: TokenStream, item: TokenStream) -> String {
        expand_main(args, item).to_string()
    }

    fn test_(args: TokenStream, item: TokenStream) -> String {
        expand_test(args, item).to_string()
    }

    /// The messages of the `compile_error!`s in an expansion.
    fn errors(expansion: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = expansion;
        while let Some(i) = rest.find("compile_error !") {
            rest = &rest[i..];
            let start = rest.find('"').expect("message starts") + 1;
            let len = rest[start..].find("\" }").expect("message ends");
            out.push(rest[start..start + len].replace("\\\"", "\""));
            rest = &rest[start + len..];
        }
        out
    }

    fn assert_error(expansion: &str, needle: &str) {
        let errs = errors(expansion);
        assert!(
            errs.iter().any(|e| e.contains(needle)),
            "no compile_error! containing {needle:?} in {expansion}"
        );
    }

    fn squash(s: &str) -> String {
        s.split_whitespace().collect()
    }

    #[test]
    fn main_defaults_to_multi_thread() {
        let out = main_(
            quote!(),
            quote!(
                async fn main() {
                    println!("hi");
                }
            ),
        );
        assert!(errors(&out).is_empty(), "{out}");
        let s = squash(&out);
        assert!(s.starts_with("fnmain(){"), "{out}");
        assert!(s.contains("letbody=asyncmove{println!(\"hi\");};"), "{out}");
        assert!(
            s.contains(&squash(
                "return ::spindle::runtime::Builder::new_multi_thread().build() \
                 .expect(\"Failed building the Runtime\").block_on(body);"
            )),
            "{out}"
        );
        assert!(!s.contains("worker_threads"), "{out}");
        assert!(!s.contains("start_paused"), "{out}");
        assert!(!s.contains("async fn"), "{out}");
    }

    #[test]
    fn main_current_thread_paused() {
        let out = main_(
            quote!(flavor = "current_thread", start_paused = true),
            quote!(
                async fn main() {}
            ),
        );
        assert!(errors(&out).is_empty(), "{out}");
        assert!(
            squash(&out).contains("Builder::new_current_thread().start_paused(true).build()"),
            "{out}"
        );
    }

    #[test]
    fn main_worker_threads() {
        let out = main_(
            quote!(worker_threads = 4u8),
            quote!(
                async fn main() {}
            ),
        );
        assert!(errors(&out).is_empty(), "{out}");
        // The user's suffix is dropped: the builder takes a `usize`.
        assert!(
            squash(&out).contains("Builder::new_multi_thread().worker_threads(4).build()"),
            "{out}"
        );
    }

    #[test]
    fn keeps_signature_visibility_attributes_and_return_type() {
        let out = main_(
            quote!(),
            quote! {
                /// Docs.
                #[allow(dead_code)]
                pub(crate) async fn main() -> Result<(), Box<dyn std::error::Error>> {
                    #![allow(unused_variables)]
                    let x = 1;
                    Ok(())
                }
            },
        );
        assert!(errors(&out).is_empty(), "{out}");
        let s = squash(&out);
        assert!(
            s.starts_with(
                "#[doc=r\"Docs.\"]#[allow(dead_code)]pub(crate)fnmain()\
                 ->Result<(),Box<dynstd::error::Error>>{#![allow(unused_variables)]letbody="
            ),
            "{out}"
        );
        assert!(s.contains("asyncmove{letx=1;Ok(())};"), "{out}");
    }

    #[test]
    fn custom_crate_path() {
        let out = main_(
            quote!(crate = "my_rt::inner"),
            quote!(
                async fn main() {}
            ),
        );
        assert!(errors(&out).is_empty(), "{out}");
        assert!(
            squash(&out).contains("returnmy_rt::inner::runtime::Builder::new_multi_thread()"),
            "{out}"
        );
    }

    #[test]
    fn test_defaults_to_current_thread_and_adds_the_test_attribute() {
        let out = test_(
            quote!(),
            quote! {
                #[should_panic(expected = "boom")]
                async fn it_panics() { panic!("boom"); }
            },
        );
        assert!(errors(&out).is_empty(), "{out}");
        let s = squash(&out);
        assert!(
            s.starts_with(
                "#[::core::prelude::v1::test]#[should_panic(expected=\"boom\")]fnit_panics(){"
            ),
            "{out}"
        );
        assert!(s.contains("Builder::new_current_thread().build()"), "{out}");
        assert!(s.contains("block_on(body)"), "{out}");
    }

    #[test]
    fn test_start_paused_and_multi_thread() {
        let out = test_(
            quote!(start_paused = true),
            quote!(
                async fn t() {}
            ),
        );
        assert!(
            squash(&out).contains("new_current_thread().start_paused(true)"),
            "{out}"
        );
        let out = test_(
            quote!(flavor = "multi_thread", worker_threads = 2),
            quote!(
                async fn t() {}
            ),
        );
        assert!(errors(&out).is_empty(), "{out}");
        assert!(
            squash(&out).contains("new_multi_thread().worker_threads(2)"),
            "{out}"
        );
    }

    #[test]
    fn start_paused_false_is_passed_through() {
        let out = test_(
            quote!(start_paused = false),
            quote!(
                async fn t() {}
            ),
        );
        assert!(squash(&out).contains(".start_paused(false)"), "{out}");
    }

    #[test]
    fn missing_async() {
        let item = quote!(
            fn main() {}
        );
        let out = main_(quote!(), item.clone());
        assert_error(
            &out,
            "the `async` keyword is missing from the function declaration",
        );
        // The function is passed through as written, not wrapped.
        assert!(out.ends_with(&item.to_string()), "{out}");
        assert!(!out.contains("block_on"), "{out}");
        let out = test_(
            quote!(),
            quote!(
                fn t() {}
            ),
        );
        assert_error(&out, "the `async` keyword is missing");
    }

    #[test]
    fn main_with_parameters() {
        let out = main_(
            quote!(),
            quote!(
                async fn main(x: i32) {}
            ),
        );
        assert_error(&out, "the `main` function cannot accept arguments");
        let out = test_(
            quote!(),
            quote!(
                async fn t(x: i32) {}
            ),
        );
        assert_error(&out, "test functions cannot accept arguments");
    }

    #[test]
    fn unknown_argument_lists_the_valid_ones() {
        let out = main_(
            quote!(threads = 2),
            quote!(
                async fn main() {}
            ),
        );
        assert_error(
            &out,
            "unknown argument `threads`; the valid arguments are `flavor`, `worker_threads`, \
             `start_paused` and `crate`",
        );
        // Still expanded, with the defaults, so nothing else fails.
        assert!(out.contains("new_multi_thread"), "{out}");
    }

    #[test]
    fn bad_flavor_names_both_valid_ones() {
        let out = main_(
            quote!(flavor = "x"),
            quote!(
                async fn main() {}
            ),
        );
        assert_error(
            &out,
            "unknown runtime flavor \"x\"; the valid flavors are \"current_thread\" and \"multi_thread\"",
        );
    }

    #[test]
    fn zero_worker_threads() {
        let out = main_(
            quote!(worker_threads = 0),
            quote!(
                async fn main() {}
            ),
        );
        assert_error(&out, "`worker_threads` must be at least 1");
        assert!(!out.contains(".worker_threads"), "{out}");
    }

    #[test]
    fn worker_threads_with_current_thread() {
        let out = main_(
            quote!(flavor = "current_thread", worker_threads = 2),
            quote!(
                async fn main() {}
            ),
        );
        assert_error(
            &out,
            "`worker_threads` requires the multi-thread runtime: write \
             `#[spindle::main(flavor = \"multi_thread\", worker_threads = 2)]`",
        );
        // The test attribute's default flavor is the reason, and the message says so.
        let out = test_(
            quote!(worker_threads = 2),
            quote!(
                async fn t() {}
            ),
        );
        assert_error(
            &out,
            "#[spindle::test] uses the current-thread runtime by default: write \
             `#[spindle::test(flavor = \"multi_thread\", worker_threads = 2)]`",
        );
    }

    #[test]
    fn start_paused_with_multi_thread() {
        let out = test_(
            quote!(flavor = "multi_thread", start_paused = true),
            quote!(
                async fn t() {}
            ),
        );
        assert_error(
            &out,
            "`start_paused` requires the current-thread runtime: write \
             `#[spindle::test(flavor = \"current_thread\", start_paused = true)]`",
        );
        let out = main_(
            quote!(start_paused = true),
            quote!(
                async fn main() {}
            ),
        );
        assert_error(
            &out,
            "#[spindle::main] uses the multi-thread runtime by default",
        );
        assert!(!out.contains(".start_paused"), "{out}");
    }

    #[test]
    fn duplicate_argument() {
        let out = main_(
            quote!(flavor = "multi_thread", flavor = "current_thread"),
            quote!(
                async fn main() {}
            ),
        );
        assert_error(
            &out,
            "duplicate argument `flavor`: give each argument only once",
        );
    }

    #[test]
    fn second_test_attribute() {
        let out = test_(
            quote!(),
            quote!(
                #[test]
                async fn t() {}
            ),
        );
        assert_error(&out, "a second test attribute is supplied");
        let out = test_(
            quote!(),
            quote!(
                #[::core::prelude::v1::test]
                async fn t() {}
            ),
        );
        assert_error(&out, "a second test attribute is supplied");
        // Attributes that merely mention `test` are left alone.
        let out = test_(
            quote!(),
            quote!(
                #[cfg(test)]
                async fn t() {}
            ),
        );
        assert!(errors(&out).is_empty(), "{out}");
    }

    #[test]
    fn not_a_function_is_passed_through_with_the_error() {
        let out = main_(
            quote!(),
            quote!(
                struct S;
            ),
        );
        assert_eq!(errors(&out).len(), 1, "{out}");
        assert!(out.ends_with("struct S ;"), "{out}");
    }

    #[test]
    fn syntax_error_in_the_arguments_still_expands() {
        let out = main_(
            quote!(flavor "x"),
            quote!(
                async fn main() {}
            ),
        );
        assert_error(&out, "`flavor` needs a value");
        assert!(out.contains("block_on"), "{out}");
    }

    #[test]
    fn body_tokens_keep_their_spans() {
        let item: TokenStream = "async fn main() -> u8 {\n    let x = 1;\n    x + 1\n}"
            .parse()
            .expect("lexes");
        let out = expand_main(TokenStream::new(), item);
        let text = |tt: &proc_macro2::TokenTree| tt.span().source_text().unwrap_or_default();
        // The user's `x + 1` is still there, with the span of the source it came from.
        let flat = flatten(out);
        let plus = flat
            .iter()
            .find(|tt| tt.to_string() == "+")
            .expect("the body is in the expansion");
        assert_eq!(text(plus), "+");
        // The generated `return` is reported at the last statement, not the attribute.
        let ret = flat
            .iter()
            .find(|tt| tt.to_string() == "return")
            .expect("return");
        assert_eq!(text(ret), "1");
        let new = flat
            .iter()
            .find(|tt| tt.to_string() == "new_multi_thread")
            .expect("builder");
        assert_eq!(text(new), "x");
    }

    fn flatten(tokens: TokenStream) -> Vec<proc_macro2::TokenTree> {
        let mut out = Vec::new();
        for tt in tokens {
            if let proc_macro2::TokenTree::Group(g) = &tt {
                out.extend(flatten(g.stream()));
            }
            out.push(tt);
        }
        out
    }
}

//! A function item, parsed only as deep as the expansion needs.
//!
//! The body is kept as the raw tokens the user wrote, not parsed into statements: the
//! tokens (and so their spans) go back out unchanged, a syntax error inside the body is
//! reported once by rustc rather than also by us, and an IDE in the middle of an edit
//! still gets an expansion it can analyse.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Signature, Visibility, braced};

pub(crate) struct ItemFn {
    pub(crate) outer_attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    /// `#![...]` at the top of the body; they stay on the function, because an inner
    /// attribute would not be accepted at the top of the `async` block.
    pub(crate) inner_attrs: Vec<Attribute>,
    /// Everything in the braces after the inner attributes.
    pub(crate) body: TokenStream,
    /// The whole `{ ... }`, so the `async` block can reuse the user's braces' span.
    pub(crate) brace_span: Span,
    /// The end of the braces, for a body with no statements.
    pub(crate) brace_close: Span,
}

impl Parse for ItemFn {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let outer_attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let sig: Signature = input.parse()?;
        let content;
        let brace = braced!(content in input);
        let inner_attrs = content.call(Attribute::parse_inner)?;
        let body: TokenStream = content.parse()?;
        Ok(ItemFn {
            outer_attrs,
            vis,
            sig,
            inner_attrs,
            body,
            brace_span: brace.span.join(),
            brace_close: brace.span.close(),
        })
    }
}

impl ItemFn {
    /// The spans of the first and last tokens of the body's last statement, found by
    /// splitting the top level of the body at `;`.
    ///
    /// The generated `return ... .block_on(body)` carries these spans: when the body's
    /// value does not match the declared return type, rustc then points at the user's
    /// last statement instead of at the attribute or the whole function.
    pub(crate) fn last_stmt_spans(&self) -> (Span, Span) {
        let tokens: Vec<TokenTree> = self.body.clone().into_iter().collect();
        let Some(last) = tokens.last() else {
            return (self.brace_close, self.brace_close);
        };
        // The last statement begins after the last `;` that is not its own terminator.
        let before_last = &tokens[..tokens.len() - 1];
        let start = before_last
            .iter()
            .rposition(is_semicolon)
            .map_or(0, |i| i + 1);
        (tokens[start].span(), last.span())
    }
}

fn is_semicolon(tt: &TokenTree) -> bool {
    matches!(tt, TokenTree::Punct(p) if p.as_char() == ';')
}

/// Wraps `body` in braces carrying `span`, so the async block's braces are the user's.
pub(crate) fn braced_with_span(body: TokenStream, span: Span) -> TokenTree {
    let mut group = proc_macro2::Group::new(Delimiter::Brace, body);
    group.set_span(span);
    TokenTree::Group(group)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn span_text(span: Span) -> String {
        // Outside a compiler, proc_macro2's fallback spans know their source text.
        span.source_text().unwrap_or_default()
    }

    #[test]
    fn keeps_inner_attributes_apart_from_the_body() {
        let item: ItemFn = syn::parse2(quote! {
            #[inline] pub async fn f() -> u8 { #![allow(unused)] let x = 1; x }
        })
        .expect("parses");
        assert_eq!(item.outer_attrs.len(), 1);
        assert_eq!(item.inner_attrs.len(), 1);
        assert_eq!(item.body.to_string(), "let x = 1 ; x");
        assert!(item.sig.asyncness.is_some());
    }

    #[test]
    fn last_statement_is_found_at_the_top_level() {
        let item: ItemFn = syn::parse_str("async fn f() { a; { b; c }; d(); }").expect("parses");
        let (start, end) = item.last_stmt_spans();
        assert_eq!(span_text(start), "d");
        assert_eq!(span_text(end), ";");

        let item: ItemFn =
            syn::parse_str("async fn f() { a; if x { y; } else { z } }").expect("parses");
        let (start, _) = item.last_stmt_spans();
        assert_eq!(span_text(start), "if");
    }

    #[test]
    fn empty_body_uses_the_closing_brace() {
        let item: ItemFn = syn::parse_str("async fn f() {}").expect("parses");
        let (start, end) = item.last_stmt_spans();
        assert_eq!(span_text(start), "}");
        assert_eq!(span_text(end), "}");
    }
}

//! Collects every error of one expansion, so that one build shows every bad field.

use std::fmt::Display;

use proc_macro2::TokenStream;
use quote::ToTokens;

/// The errors found so far.
#[derive(Default)]
pub struct Ctxt {
    errors: Option<syn::Error>,
}

impl Ctxt {
    /// Records an error on the tokens of `tokens`.
    pub fn error_spanned_by<T: ToTokens, M: Display>(&mut self, tokens: T, message: M) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records an already built error.
    pub fn push(&mut self, err: syn::Error) {
        match &mut self.errors {
            Some(errors) => errors.combine(err),
            None => self.errors = Some(err),
        }
    }

    /// Whether an error was recorded.
    pub fn has_errors(&self) -> bool {
        self.errors.is_some()
    }

    /// `Ok` when nothing was recorded, else every error as `compile_error!` tokens.
    pub fn check(self) -> Result<(), TokenStream> {
        match self.errors {
            None => Ok(()),
            Some(errors) => Err(errors.to_compile_error()),
        }
    }
}

//! Derive macros of [fstore](https://docs.rs/fstore). Use them through the `fstore` crate, which
//! documents every attribute: `#[derive(fstore::FeatureView)]`, `#[derive(fstore::FeatureVector)]`.
//!
//! Each entry point forwards to a function on `proc_macro2::TokenStream`, so that the logic can be
//! unit-tested; the steps live in their own modules: `attr` (attribute parsing), `ast` (the parsed
//! model), `check` and `check_vector` (validation), `expand`, `expand_vector` and
//! `expand_registry` (code generation).

mod ast;
mod attr;
mod check;
mod check_vector;
mod ctxt;

mod expand;
mod expand_registry;
mod expand_vector;
mod registry;

use proc_macro::TokenStream;

/// Derives `fstore::FeatureView` and the typed `read`, `read_batch`, `write`, `write_batch` and
/// `ttl` methods. See the `fstore` crate's documentation for the attributes it accepts.
#[proc_macro_derive(FeatureView, attributes(feature_view, fstore))]
pub fn derive_feature_view(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive_feature_view(&input).into()
}

/// Derives `fstore::FeatureVector` (features of one entity from several views, and their model
/// input) and the typed `vector`, `vector_with_report`, `vector_batch`, `to_array`, `write_f32` and
/// `to_matrix` methods. See the `fstore` crate's documentation for the attributes it accepts.
#[proc_macro_derive(FeatureVector, attributes(feature_vector, fstore))]
pub fn derive_feature_vector(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand_vector::derive_feature_vector(&input).into()
}

/// Expands to one `#[derive(FeatureView)]` struct per view of a `features.toml` registry. See the
/// `fstore` crate's documentation.
#[proc_macro]
pub fn registry(input: TokenStream) -> TokenStream {
    expand_registry::registry_macro(input.into()).into()
}

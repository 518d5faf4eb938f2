//! Derive macros of [fstore](https://docs.rs/fstore). Use them through the `fstore` crate, which
//! documents every attribute: `#[derive(fstore::FeatureView)]`, `#[derive(fstore::FeatureVector)]`,
//! `fstore::registry!`.
//!
//! Each entry point forwards to a function on `proc_macro2::TokenStream`, so that the logic can be
//! unit-tested. Both derives run one pipeline, `expand`: parse once, check, expand by kind, or
//! fall back. One module per step:
//!
//! - `ast`: the parsed struct (`Input`: a view or a vector), keeping the syntax for spans;
//! - `attr`: the attributes, read with `parse_nested_meta`;
//! - `registry`: `features.toml` loaded at compile time;
//! - `check`: the rules both derives share, one function per rule; `check_view` and
//!   `check_vector` apply them, and `column` resolves a vector field's model input;
//! - `expand_view`, `expand_vector` (with `expand_default` for the fields' defaults) and
//!   `expand_registry`: the generated code;
//! - `fallback`: on any error, the errors beside a stub impl, for both derives;
//! - `ctxt`: every error of one expansion, collected.
//!
//! # Options beyond the attributes the `fstore` crate documents
//!
//! - `#[feature_view(crate = "my_fstore")]`, `#[feature_vector(crate = "my_fstore")]` and
//!   `fstore::registry!("features.toml", crate = my_fstore)`: generated code names fstore by this
//!   path instead of `::fstore`, for a crate that renamed its dependency
//!   (`my_fstore = { package = "fstore", version = "…" }`) or re-exports it
//!   (`crate = "crate::reexported"`), like serde's `#[serde(crate = "…")]`. The path is written
//!   into the generated code as given and resolves where the struct is defined. A string or a
//!   bare path are both accepted.
//! - `fstore::registry!("features.toml", derive(Clone, serde::Serialize, serde::Deserialize))`:
//!   derives added to every generated struct (views and aggregations), after the built-in
//!   `FeatureView, Debug, Clone, PartialEq` (which are left out if given again, as are repeats). `Default` is refused: the
//!   generator implements it itself, with the registry's defaults.
//! - Every struct `registry!` generates has a builder, `UserProfile::builder()`, with one setter
//!   per feature (strings take `impl Into<String>`, an optional feature's setter takes the value
//!   and stores `Some`); `build()` exists only once every required feature (no default, not
//!   optional) is set, so a missing one is a compile error (`no method named build found for
//!   struct UserProfileBuilder<…, ()>`), while features with a default start at it and optional
//!   ones at `None`. A view whose features all have a default or are optional also implements
//!   `Default` with the registry's defaults. Writers that build rows this way keep compiling
//!   when a feature with a default, or an optional one, is added to the registry.
//!
//! # Where registry paths resolve
//!
//! At compile time (`registry!`, `registry = "..."` in both derives) a relative path is relative
//! to the directory of the crate's `Cargo.toml` (`CARGO_MANIFEST_DIR`): the compiler's working
//! directory is not the crate's (a workspace builds every member from its root). At run time
//! (`Registry::from_path`) a relative path is relative to the process's working directory, as for
//! every file API: a server reads the file where it is deployed.

mod ast;
mod attr;
mod check;
mod check_vector;
mod check_view;
mod column;
mod ctxt;
mod expand;
mod expand_default;
mod expand_registry;
mod expand_vector;
mod expand_view;
mod fallback;
mod registry;

use proc_macro::TokenStream;

use crate::attr::Derive;

/// Derives `fstore::FeatureView` and the typed `read`, `read_batch`, `write`, `write_batch` and
/// `ttl` methods. See the `fstore` crate's documentation for the attributes it accepts.
#[proc_macro_derive(FeatureView, attributes(feature_view, fstore))]
pub fn derive_feature_view(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input, Derive::View).into()
}

/// Derives `fstore::FeatureVector` (features of one entity from several views, and their model
/// input) and the typed `vector`, `vector_with_report`, `vector_batch`, `to_array`, `write_f32` and
/// `to_matrix` methods. See the `fstore` crate's documentation for the attributes it accepts.
#[proc_macro_derive(FeatureVector, attributes(feature_vector, fstore))]
pub fn derive_feature_vector(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input, Derive::Vector).into()
}

/// Expands to one `#[derive(FeatureView)]` struct per view of a `features.toml` registry, and an
/// event struct and a features struct per aggregation. See the `fstore` crate's documentation.
#[proc_macro]
pub fn registry(input: TokenStream) -> TokenStream {
    expand_registry::registry_macro(input.into()).into()
}

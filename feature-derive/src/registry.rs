//! Loading `features.toml` at compile time, relative to the crate being compiled, and making
//! cargo rebuild the crate when it changes.

use std::path::PathBuf;

use fstore_registry::Registry;
use proc_macro2::TokenStream;
use quote::quote;
use syn::LitStr;

use crate::ctxt::Ctxt;

/// A registry read for one expansion.
pub struct Loaded {
    pub registry: Registry,
    /// The file as the user named it, for messages.
    pub name: String,
    /// The absolute path, for `include_bytes!` (so that cargo rebuilds when it changes).
    pub absolute: String,
}

/// Reads and validates the registry named by `lit`; errors go on `lit`.
pub fn load(cx: &mut Ctxt, lit: &LitStr) -> Option<Loaded> {
    let name = lit.value();
    let dir = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(PathBuf::new, PathBuf::from);
    let path = dir.join(&name);
    let source = match std::fs::read_to_string(&path) {
        Ok(source) => source,
        Err(e) => {
            cx.error_spanned_by(
                lit,
                format!(
                    "cannot read the registry `{name}` at {}: {e}; the path is relative to the \
                     directory of the crate's Cargo.toml (CARGO_MANIFEST_DIR)",
                    path.display()
                ),
            );
            return None;
        }
    };
    match Registry::parse(&source, &name) {
        Ok(registry) => Some(Loaded {
            registry,
            name,
            absolute: path.display().to_string(),
        }),
        Err(errors) => {
            cx.error_spanned_by(
                lit,
                format!("the registry `{name}` is invalid; fix it (`fstore check {name}` lists the same):\n{errors}"),
            );
            None
        }
    }
}

/// An item that makes cargo rebuild the crate when the registry at `absolute` changes: the file
/// read through `include_bytes!`.
pub fn rebuild_on_change(absolute: &str) -> TokenStream {
    quote! {
        const _: &[u8] = ::core::include_bytes!(#absolute);
    }
}

//! `fstore::registry!("features.toml")`: one struct per view of the registry.

use proc_macro2::TokenStream;
use quote::quote;
use syn::LitStr;

use crate::ctxt::Ctxt;
use crate::registry;

/// Expands `registry!(<path>)`: the structs `fstore codegen` prints, plus an `include_bytes!` of
/// the file so that cargo rebuilds when it changes.
pub fn registry_macro(input: TokenStream) -> TokenStream {
    let lit: LitStr = match syn::parse2(input) {
        Ok(lit) => lit,
        Err(e) => {
            return syn::Error::new(
                e.span(),
                "expected the registry's path as a string literal, relative to the crate's \
                 Cargo.toml: `fstore::registry!(\"features.toml\");`",
            )
            .to_compile_error()
        }
    };
    let mut cx = Ctxt::default();
    let loaded = registry::load(&mut cx, &lit);
    if let Err(errors) = cx.check() {
        return errors;
    }
    let Some(loaded) = loaded else {
        return TokenStream::new();
    };
    let structs = fstore_registry::codegen::generate(&loaded.registry);
    let path = loaded.absolute;
    quote! {
        #structs
        const _: &[u8] = ::core::include_bytes!(#path);
    }
}

//! The one error path of both derives: the errors as `compile_error!`, beside a stub of the trait
//! impl and the same inherent methods a good expansion has, so that the user sees the real errors
//! and not a cascade of "no function `read`" at every call site.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::attr::{self, Derive};
use crate::expand_vector::inherent_items;
use crate::expand_view::inherent_methods;

/// `errors`, with the stub impl and the methods of `derive` for `input`. A generic struct gets
/// the errors alone: a stub could not name its type.
pub fn expand(input: &DeriveInput, derive: Derive, errors: TokenStream) -> TokenStream {
    if !input.generics.params.is_empty() {
        return errors;
    }
    let ident = &input.ident;
    let krate = &attr::crate_path(&input.attrs, derive);
    let (stub, methods) = match derive {
        Derive::View => (
            quote! {
                #[automatically_derived]
                impl #krate::FeatureView for #ident {
                    const VIEW: &'static str = "";
                    const NAMESPACE: &'static str = "";
                    const VERSION: u32 = 0;
                    const KEY_PREFIX: &'static str = "";
                    const TTL: ::core::time::Duration = ::core::time::Duration::ZERO;
                    const FEATURES: &'static [&'static str] = &[];
                    const READ_FIELDS: &'static [&'static str] = &[];

                    fn decode(_: &#krate::__private::Row<'_>) -> #krate::Result<Self> {
                        ::core::unreachable!()
                    }

                    fn encode(&self, _: &mut #krate::__private::RowWriter) {}
                }
            },
            inherent_methods(ident, krate),
        ),
        Derive::Vector => (
            quote! {
                #[automatically_derived]
                impl #krate::FeatureVector for #ident {
                    const VIEWS: &'static [#krate::__private::VectorView] = &[];
                    const WIDTH: ::core::primitive::usize = 0;

                    fn decode(_: &mut #krate::__private::VectorRows<'_>) -> #krate::Result<Self> {
                        ::core::unreachable!()
                    }

                    fn write_f32(&self, _: &mut [::core::primitive::f32]) {}
                }
            },
            inherent_items(ident, krate, 0, &[]),
        ),
    };
    quote! {
        #errors
        #stub
        #methods
    }
}

//! Code generation for `#[derive(FeatureView)]`: the `FeatureView` impl and the typed methods.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::Ident;

use crate::ast::View;
use crate::attr::fstore_path;
use crate::check::ListDecl;
use crate::check_view::CheckedView;
use crate::expand_default::field_default;
use crate::registry;
use fstore_registry::ListEncoding;

/// The expansion of a view that passed every check.
pub fn expand(view: &View<'_>, checked: &CheckedView) -> TokenStream {
    let ident = view.ident;
    let krate = &fstore_path(view.attrs.krate.as_ref());
    let CheckedView {
        view: name,
        entity,
        namespace,
        version,
        ttl_seconds,
        features,
        registry_defaults,
        lists,
        vocabs,
        registry_path,
    } = checked;
    let private = quote!(#krate::__private);
    let key_prefix = fstore_registry::key_prefix(namespace, *version, name);
    let read_fields = features.iter().map(String::as_str).chain(["_updated_at"]);
    let entity = match entity {
        Some(e) => quote!(::core::option::Option::Some(#e)),
        None => quote!(::core::option::Option::None),
    };

    let decode_fields = view
        .fields
        .iter()
        .zip(registry_defaults)
        .zip(lists)
        .enumerate()
        .map(|(index, ((field, registry_default), list))| {
            let f = field.ident;
            let ty = field.ty;
            if let Some(list) = list {
                let spec = list_spec(&private, list);
                return quote_spanned! {ty.span()=>
                    #f: row.get_list::<#ty>(#index, &#spec)?
                };
            }
            match field_default(field, registry_default.as_ref()) {
                Some(default) => quote_spanned! {ty.span()=>
                    #f: row.get_or_else::<#ty>(#index, || #default)?
                },
                None => quote_spanned! {ty.span()=> #f: row.get::<#ty>(#index)? },
            }
        });
    let encode_fields = view.fields.iter().zip(features).zip(lists).zip(vocabs).map(
        |(((field, feature), list), vocab)| {
            let f = field.ident;
            match (list, vocab) {
                (Some(list), _) => {
                    let spec = list_spec(&private, list);
                    quote!(out.put(#feature, &#private::ListValue::new(&self.#f, #spec));)
                }
                (None, Some(vocab)) => {
                    quote!(out.put_vocab(#feature, &self.#f, &[#(#vocab),*]);)
                }
                (None, None) => quote!(out.put(#feature, &self.#f);),
            }
        },
    );

    let trait_impl = quote! {
        #[automatically_derived]
        impl #krate::FeatureView for #ident {
            const VIEW: &'static str = #name;
            const NAMESPACE: &'static str = #namespace;
            const VERSION: u32 = #version;
            const KEY_PREFIX: &'static str = #key_prefix;
            const TTL: ::core::time::Duration = ::core::time::Duration::from_secs(#ttl_seconds);
            const FEATURES: &'static [&'static str] = &[#(#features),*];
            const READ_FIELDS: &'static [&'static str] = &[#(#read_fields),*];
            const ENTITY: ::core::option::Option<&'static ::core::primitive::str> = #entity;

            fn decode(row: &#krate::__private::Row<'_>) -> #krate::Result<Self> {
                ::core::result::Result::Ok(Self { #(#decode_fields,)* })
            }

            fn encode(&self, out: &mut #krate::__private::RowWriter) {
                #(#encode_fields)*
            }
        }
    };
    let methods = inherent_methods(ident, krate);
    let rebuild = registry_path.as_deref().map(registry::rebuild_on_change);
    quote! {
        #trait_impl
        #methods
        #rebuild
    }
}

/// The declaration of a list field as a `ListSpec` expression: its length, its encoding and the
/// expected type its read errors name. `private` is the path of `fstore::__private`.
pub fn list_spec(private: &TokenStream, list: &ListDecl) -> TokenStream {
    let len = match list.len {
        Some(n) => {
            let n = Literal::usize_unsuffixed(n);
            quote!(::core::option::Option::Some(#n))
        }
        None => quote!(::core::option::Option::None),
    };
    let encoding = match list.encoding {
        ListEncoding::Json => quote!(Json),
        ListEncoding::F32Le => quote!(F32Le),
    };
    let expected = list.expected();
    quote!(#private::ListSpec::declared(#len, #private::ListEncoding::#encoding, #expected))
}

/// The typed async methods; they forward to the typed operations in `fstore::__private`. Also
/// emitted beside a stub impl when the derive fails, so that callers see no second error.
/// `krate` is the path fstore is named by (`::fstore`, or the struct's `crate = ...`).
pub fn inherent_methods(ident: &Ident, krate: &TokenStream) -> TokenStream {
    quote! {
        #[automatically_derived]
        #[allow(dead_code)]
        impl #ident {
            /// Reads entity `id`: one `HMGET` of exactly this struct's features and `_updated_at`.
            /// `Ok(None)` when the entity does not exist.
            pub async fn read(
                store: &#krate::Store,
                id: impl #krate::EntityId,
            ) -> #krate::Result<::core::option::Option<Self>> {
                #krate::__private::read::<Self>(store, id).await
            }

            /// Reads many entities in one pipeline (chunked when large); one result per id, in
            /// input order.
            pub async fn read_batch<I>(
                store: &#krate::Store,
                ids: I,
            ) -> #krate::Result<::std::vec::Vec<::core::option::Option<Self>>>
            where
                I: ::core::iter::IntoIterator,
                I::Item: #krate::EntityId,
            {
                #krate::__private::read_batch::<Self, I>(store, ids).await
            }

            /// Writes this struct's features as entity `id`, with `_updated_at` and the view's
            /// expiry, atomically.
            pub async fn write(
                &self,
                store: &#krate::Store,
                id: impl #krate::EntityId,
            ) -> #krate::Result<()> {
                #krate::__private::write::<Self>(store, id, self).await
            }

            /// Writes `(id, row)` pairs in one pipeline (chunked when large), atomically per
            /// entity; the pairs and their rows may be owned or borrowed.
            pub async fn write_batch<I>(store: &#krate::Store, rows: I) -> #krate::Result<()>
            where
                I: ::core::iter::IntoIterator,
                I::Item: #krate::BatchRow<Self>,
            {
                #krate::__private::write_batch::<Self, I>(store, rows).await
            }

            /// The remaining time to live of entity `id`; `None` when it does not exist.
            pub async fn ttl(
                store: &#krate::Store,
                id: impl #krate::EntityId,
            ) -> #krate::Result<::core::option::Option<::core::time::Duration>> {
                #krate::__private::ttl::<Self>(store, id).await
            }
        }
    }
}

//! Code generation for `#[derive(FeatureView)]`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::DeriveInput;

use fstore_registry::DefaultValue;
use proc_macro2::Literal;

use crate::ast::{Field, Scalar, View};
use crate::check::{check, Checked};
use crate::ctxt::Ctxt;

/// Expands `#[derive(FeatureView)]` on `input`.
pub fn derive_feature_view(input: &DeriveInput) -> TokenStream {
    let mut cx = Ctxt::default();
    let view = View::from_ast(&mut cx, input);
    let checked = view.as_ref().and_then(|v| check(&mut cx, v));
    match (cx.check(), view, checked) {
        (Ok(()), Some(view), Some(checked)) => expand(&view, &checked),
        (Err(errors), _, _) => fallback(input, errors),
        // Unreachable in practice: a `None` always comes with an error.
        (Ok(()), _, _) => fallback(input, TokenStream::new()),
    }
}

fn expand(view: &View<'_>, checked: &Checked) -> TokenStream {
    let ident = view.ident;
    let Checked {
        view: name,
        namespace,
        version,
        ttl_seconds,
        features,
        registry_defaults,
        registry_path,
    } = checked;
    let key_prefix = fstore_registry::key_prefix(namespace, *version, name);
    let read_fields = features.iter().map(String::as_str).chain(["_updated_at"]);

    let decode_fields = view.fields.iter().zip(registry_defaults).enumerate().map(
        |(index, (field, registry_default))| {
            let f = field.ident;
            let ty = field.ty;
            let default = match (&field.attrs.default, registry_default) {
                (Some(default), _) => Some(attribute_default(field, default)),
                (None, Some(default)) => Some(registry_default_tokens(field, default)),
                (None, None) => None,
            };
            match default {
                Some(default) => quote_spanned! {ty.span()=>
                    #f: row.get_or_else::<#ty>(#index, || #default)?
                },
                None => quote_spanned! {ty.span()=> #f: row.get::<#ty>(#index)? },
            }
        },
    );
    let encode_fields = view.fields.iter().zip(features).map(|(field, feature)| {
        let f = field.ident;
        quote!(out.put(#feature, &self.#f);)
    });

    let trait_impl = quote! {
        #[automatically_derived]
        impl ::fstore::FeatureView for #ident {
            const VIEW: &'static str = #name;
            const NAMESPACE: &'static str = #namespace;
            const VERSION: u32 = #version;
            const KEY_PREFIX: &'static str = #key_prefix;
            const TTL: ::core::time::Duration = ::core::time::Duration::from_secs(#ttl_seconds);
            const FEATURES: &'static [&'static str] = &[#(#features),*];
            const READ_FIELDS: &'static [&'static str] = &[#(#read_fields),*];

            fn decode(row: &::fstore::__private::Row<'_>) -> ::fstore::Result<Self> {
                ::core::result::Result::Ok(Self { #(#decode_fields,)* })
            }

            fn encode(&self, out: &mut ::fstore::__private::RowWriter) {
                #(#encode_fields)*
            }
        }
    };
    let methods = inherent_methods(ident);
    // Reading the registry through `include_bytes!` makes cargo rebuild when it changes.
    let rebuild = registry_path.as_ref().map(|path| {
        quote! {
            const _: &[u8] = ::core::include_bytes!(#path);
        }
    });
    quote! {
        #trait_impl
        #methods
        #rebuild
    }
}

/// The expression of a `#[fstore(default = ...)]` literal, converted to the field's type.
pub fn attribute_default(field: &Field<'_>, default: &syn::Expr) -> TokenStream {
    let ty = field.ty;
    match field.kind.map(|k| k.scalar) {
        Some(Scalar::String) => quote_spanned! {default.span()=>
            ::std::string::ToString::to_string(#default)
        },
        Some(s) if s.is_float() => float_default(s, default)
            // Unreachable after the checks: a float default is a number or a float constant.
            .unwrap_or_else(|| quote_spanned!(default.span()=> (#default) as #ty)),
        _ => quote!(#default),
    }
}

/// A float default as an expression of the field's float type without a cast (which clippy
/// would flag in the user's code as `unnecessary_cast`): an integer literal `1` becomes `1.0`,
/// a suffixed `0.5f32` loses its suffix, `f64::NAN` on an `f32` field becomes `f32::NAN`.
fn float_default(scalar: Scalar, expr: &syn::Expr) -> Option<TokenStream> {
    use syn::{Expr, ExprLit, ExprUnary, Lit, LitFloat, UnOp};
    match expr {
        Expr::Lit(ExprLit { lit, .. }) => {
            let digits = match lit {
                Lit::Int(i) => format!("{}.0", i.base10_digits()),
                Lit::Float(f) => f.base10_digits().to_owned(),
                _ => return None,
            };
            let lit = LitFloat::new(&digits, lit.span());
            Some(quote!(#lit))
        }
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(neg),
            expr,
            ..
        }) => {
            let inner = float_default(scalar, expr)?;
            Some(quote!(#neg #inner))
        }
        Expr::Path(p) => {
            let name = &p.path.segments.last()?.ident;
            let float = match scalar {
                Scalar::F32 => quote_spanned!(name.span()=> f32),
                _ => quote_spanned!(name.span()=> f64),
            };
            Some(quote_spanned!(name.span()=> ::core::primitive::#float::#name))
        }
        Expr::Group(g) => float_default(scalar, &g.expr),
        Expr::Paren(p) => float_default(scalar, &p.expr),
        _ => None,
    }
}

/// The expression of a registry default, of the field's type.
pub fn registry_default_tokens(field: &Field<'_>, default: &DefaultValue) -> TokenStream {
    let ty = field.ty;
    match default {
        DefaultValue::Int(i) => {
            let abs = Literal::u64_unsuffixed(i.unsigned_abs());
            let lit = if *i < 0 { quote!(-#abs) } else { quote!(#abs) };
            match field.kind.map(|k| k.scalar) {
                Some(s) if s.is_float() => quote!((#lit) as #ty),
                _ => lit,
            }
        }
        DefaultValue::Float(x) => {
            let value = if x.is_nan() {
                quote!(::core::primitive::f64::NAN)
            } else if x.is_infinite() && *x > 0.0 {
                quote!(::core::primitive::f64::INFINITY)
            } else if x.is_infinite() {
                quote!(::core::primitive::f64::NEG_INFINITY)
            } else {
                let abs = Literal::f64_unsuffixed(x.abs());
                if x.is_sign_negative() {
                    quote!(-#abs)
                } else {
                    quote!(#abs)
                }
            };
            quote!((#value) as #ty)
        }
        DefaultValue::String(s) => quote!(::std::string::ToString::to_string(#s)),
        DefaultValue::Bool(b) => quote!(#b),
    }
}

/// The typed async methods; they forward to `fstore::ops`.
fn inherent_methods(ident: &syn::Ident) -> TokenStream {
    quote! {
        #[automatically_derived]
        #[allow(dead_code)]
        impl #ident {
            /// Reads entity `id`: one `HMGET` of exactly this struct's features and `_updated_at`.
            /// `Ok(None)` when the entity does not exist.
            pub async fn read(
                store: &::fstore::Store,
                id: impl ::fstore::EntityId,
            ) -> ::fstore::Result<::core::option::Option<Self>> {
                ::fstore::ops::read::<Self>(store, id).await
            }

            /// Reads many entities in one pipeline (chunked when large); one result per id, in
            /// input order.
            pub async fn read_batch<I>(
                store: &::fstore::Store,
                ids: I,
            ) -> ::fstore::Result<::std::vec::Vec<::core::option::Option<Self>>>
            where
                I: ::core::iter::IntoIterator,
                I::Item: ::fstore::EntityId,
            {
                ::fstore::ops::read_batch::<Self, I>(store, ids).await
            }

            /// Writes this struct's features as entity `id`, with `_updated_at` and the view's
            /// expiry, atomically.
            pub async fn write(
                &self,
                store: &::fstore::Store,
                id: impl ::fstore::EntityId,
            ) -> ::fstore::Result<()> {
                ::fstore::ops::write::<Self>(store, id, self).await
            }

            /// Writes `(id, row)` pairs in one pipeline (chunked when large), atomically per
            /// entity.
            pub async fn write_batch<I, K, R>(store: &::fstore::Store, rows: I) -> ::fstore::Result<()>
            where
                I: ::core::iter::IntoIterator<Item = (K, R)>,
                K: ::fstore::EntityId,
                R: ::core::borrow::Borrow<Self>,
            {
                ::fstore::ops::write_batch::<Self, I, K, R>(store, rows).await
            }

            /// The remaining time to live of entity `id`; `None` when it does not exist.
            pub async fn ttl(
                store: &::fstore::Store,
                id: impl ::fstore::EntityId,
            ) -> ::fstore::Result<::core::option::Option<::core::time::Duration>> {
                ::fstore::ops::ttl::<Self>(store, id).await
            }
        }
    }
}

/// On error: the errors, plus a stub impl and the methods, so that the user sees the real errors
/// and not a cascade of "no function `read`" at every call site.
fn fallback(input: &DeriveInput, errors: TokenStream) -> TokenStream {
    let ident = &input.ident;
    if !input.generics.params.is_empty() {
        return errors;
    }
    let methods = inherent_methods(ident);
    quote! {
        #errors
        #[automatically_derived]
        impl ::fstore::FeatureView for #ident {
            const VIEW: &'static str = "";
            const NAMESPACE: &'static str = "";
            const VERSION: u32 = 0;
            const KEY_PREFIX: &'static str = "";
            const TTL: ::core::time::Duration = ::core::time::Duration::ZERO;
            const FEATURES: &'static [&'static str] = &[];
            const READ_FIELDS: &'static [&'static str] = &[];

            fn decode(_: &::fstore::__private::Row<'_>) -> ::fstore::Result<Self> {
                ::core::unreachable!()
            }

            fn encode(&self, _: &mut ::fstore::__private::RowWriter) {}
        }
        #methods
    }
}

#[cfg(test)]
mod tests {
    use super::float_default;
    use crate::ast::Scalar;

    #[test]
    fn float_defaults_need_no_cast() {
        let show = |scalar, s: &str| {
            float_default(scalar, &syn::parse_str(s).unwrap())
                .map(|t| t.to_string())
                .unwrap_or_default()
        };
        assert_eq!(show(Scalar::F64, "1"), "1.0");
        assert_eq!(show(Scalar::F64, "-2_000i64"), "- 2000.0");
        assert_eq!(show(Scalar::F32, "0.5f32"), "0.5");
        assert_eq!(show(Scalar::F64, "(1e3)"), "1e3");
        assert_eq!(
            show(Scalar::F32, "f64::NAN"),
            ":: core :: primitive :: f32 :: NAN"
        );
        assert_eq!(
            show(Scalar::F64, "-std::f32::INFINITY"),
            "- :: core :: primitive :: f64 :: INFINITY"
        );
        assert_eq!(show(Scalar::F64, "\"x\""), "");
    }
}

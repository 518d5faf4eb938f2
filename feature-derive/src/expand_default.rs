//! The expression of a field's default, for both derives: the field's own
//! `#[fstore(default = ...)]`, else the registry's default, converted to the field's type.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ExprUnary, Lit, LitFloat, UnOp};

use fstore_registry::DefaultValue;

use crate::ast::{Field, Scalar};

/// The value `field` reads as when absent, of the field's type: its own `default`, else
/// `registry` (the registry's default, where it applies); `None` when it has neither.
pub fn field_default(field: &Field<'_>, registry: Option<&DefaultValue>) -> Option<TokenStream> {
    match (&field.attrs.default, registry) {
        (Some(default), _) => Some(attribute_default(field, default)),
        (None, Some(default)) => Some(registry_default(field, default)),
        (None, None) => None,
    }
}

/// The expression of a `#[fstore(default = ...)]` literal, converted to the field's type.
fn attribute_default(field: &Field<'_>, default: &Expr) -> TokenStream {
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
fn float_default(scalar: Scalar, expr: &Expr) -> Option<TokenStream> {
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
fn registry_default(field: &Field<'_>, default: &DefaultValue) -> TokenStream {
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

//! The parsed model of a `#[derive(FeatureView)]` or `#[derive(FeatureVector)]` struct, parsed
//! once with its attributes, keeping the original syntax for spans.

use proc_macro2::Span;
use syn::{Data, DeriveInput, Fields, GenericArgument, Ident, PathArguments, Type};

use crate::attr::{self, Derive, FieldAttrs, VectorAttrs, ViewAttrs};
use crate::ctxt::Ctxt;

/// The struct being derived, by derive.
pub enum Input<'a> {
    /// `#[derive(FeatureView)]`: one view, read and written as a whole.
    View(View<'a>),
    /// `#[derive(FeatureVector)]`: features of one entity from several views.
    Vector(Vector<'a>),
}

/// A struct with named fields, each a feature, and the derive's struct attributes `A`.
pub struct Struct<'a, A> {
    pub ident: &'a Ident,
    pub attrs: A,
    pub fields: Vec<Field<'a>>,
}

/// A `#[derive(FeatureView)]` struct.
pub type View<'a> = Struct<'a, ViewAttrs>;

/// A `#[derive(FeatureVector)]` struct.
pub type Vector<'a> = Struct<'a, VectorAttrs>;

/// One named field: one feature.
pub struct Field<'a> {
    pub ident: &'a Ident,
    pub ty: &'a Type,
    pub attrs: FieldAttrs,
    /// The feature type, when the field's type is a supported one.
    pub kind: Option<Kind>,
}

/// A supported feature type: a scalar, optionally wrapped in `Option`.
#[derive(Clone, Copy)]
pub struct Kind {
    pub scalar: Scalar,
    pub optional: bool,
}

/// The scalar feature types.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    I64,
    I32,
    U32,
    U64,
    F64,
    F32,
    Bool,
    String,
    FloatList,
}

impl Scalar {
    /// `i64`, `i32`, `u32` or `u64`.
    pub fn is_int(self) -> bool {
        matches!(self, Scalar::I64 | Scalar::I32 | Scalar::U32 | Scalar::U64)
    }

    /// `f64` or `f32`.
    pub fn is_float(self) -> bool {
        matches!(self, Scalar::F64 | Scalar::F32)
    }

    /// The Rust type, as a field would write it.
    pub fn rust_name(self) -> &'static str {
        match self {
            Scalar::I64 => "i64",
            Scalar::I32 => "i32",
            Scalar::U32 => "u32",
            Scalar::U64 => "u64",
            Scalar::F64 => "f64",
            Scalar::F32 => "f32",
            Scalar::Bool => "bool",
            Scalar::String => "String",
            Scalar::FloatList => "Vec<f32>",
        }
    }
}

/// What the derives accept, for error messages.
pub const SUPPORTED: &str =
    "i64, i32, u32, u64, f64, f32, bool, String, Vec<f32> or an Option of one";

impl<'a> Input<'a> {
    /// Parses `input` for `derive`: the struct's attributes, then its fields with theirs; errors
    /// go to `cx`. `None` when the input is not a non-generic struct with named fields.
    pub fn from_syn(cx: &mut Ctxt, input: &'a DeriveInput, derive: Derive) -> Option<Input<'a>> {
        match derive {
            Derive::View => {
                let attrs = attr::view_attrs(cx, &input.attrs);
                Struct::from_syn(cx, input, derive, attrs).map(Input::View)
            }
            Derive::Vector => {
                let attrs = attr::vector_attrs(cx, &input.attrs);
                Struct::from_syn(cx, input, derive, attrs).map(Input::Vector)
            }
        }
    }
}

impl<'a, A> Struct<'a, A> {
    /// `input` with its already parsed struct attributes; `None` (and an error) when `input` is
    /// not a non-generic struct with named fields.
    fn from_syn(cx: &mut Ctxt, input: &'a DeriveInput, derive: Derive, attrs: A) -> Option<Self> {
        Some(Struct {
            ident: &input.ident,
            attrs,
            fields: fields(cx, input, derive)?,
        })
    }
}

/// The named fields of `input`, with their attributes; `None` (and an error) when `input` is not
/// a non-generic struct with named fields.
fn fields<'a>(cx: &mut Ctxt, input: &'a DeriveInput, derive: Derive) -> Option<Vec<Field<'a>>> {
    let (name, noun) = (derive.name(), derive.noun());
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(
            &input.generics,
            format!(
                "`{name}` cannot be derived for a generic struct; \
                 {noun} has one fixed set of typed fields"
            ),
        );
        // Its fields' types (`T`) would each be one more error about the same mistake.
        return None;
    }
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => &named.named,
            _ => {
                cx.error_spanned_by(
                    &input.ident,
                    format!("`{name}` needs a struct with named fields: each field is a feature"),
                );
                return None;
            }
        },
        _ => {
            cx.error_spanned_by(
                &input.ident,
                format!("`{name}` can only be derived for a struct with named fields"),
            );
            return None;
        }
    };
    Some(
        fields
            .iter()
            .filter_map(|f| {
                Some(Field {
                    ident: f.ident.as_ref()?,
                    ty: &f.ty,
                    attrs: attr::field_attrs(cx, &f.attrs, derive),
                    kind: kind_of(&f.ty),
                })
            })
            .collect(),
    )
}

impl Field<'_> {
    /// The stored feature name: the `rename`, else the field's name without `r#`.
    pub fn feature_name(&self) -> (String, Span) {
        match &self.attrs.rename {
            Some(lit) => (lit.value(), lit.span()),
            None => {
                let name = self.ident.to_string();
                let name = name.strip_prefix("r#").map_or(name.clone(), str::to_owned);
                (name, self.ident.span())
            }
        }
    }
}

/// The feature type of `ty`, judged by its written form.
fn kind_of(ty: &Type) -> Option<Kind> {
    if let Some(inner) = single_generic(ty, "Option") {
        return scalar_of(inner).map(|scalar| Kind {
            scalar,
            optional: true,
        });
    }
    scalar_of(ty).map(|scalar| Kind {
        scalar,
        optional: false,
    })
}

fn scalar_of(ty: &Type) -> Option<Scalar> {
    if let Some(inner) = single_generic(ty, "Vec") {
        return (last_ident(inner)? == "f32" && is_plain(inner)).then_some(Scalar::FloatList);
    }
    if !is_plain(ty) {
        return None;
    }
    Some(match last_ident(ty)?.to_string().as_str() {
        "i64" => Scalar::I64,
        "i32" => Scalar::I32,
        "u32" => Scalar::U32,
        "u64" => Scalar::U64,
        "f64" => Scalar::F64,
        "f32" => Scalar::F32,
        "bool" => Scalar::Bool,
        "String" => Scalar::String,
        _ => return None,
    })
}

fn type_path(ty: &Type) -> Option<&syn::Path> {
    match ty {
        Type::Path(p) if p.qself.is_none() => Some(&p.path),
        Type::Group(g) => type_path(&g.elem),
        Type::Paren(p) => type_path(&p.elem),
        _ => None,
    }
}

fn last_ident(ty: &Type) -> Option<&Ident> {
    type_path(ty)?.segments.last().map(|s| &s.ident)
}

/// A path type without generic arguments.
fn is_plain(ty: &Type) -> bool {
    type_path(ty).is_some_and(|p| p.segments.iter().all(|s| s.arguments.is_none()))
}

/// `T` of `Name<T>` (as `Name`, `std::option::Name`, ...).
fn single_generic<'t>(ty: &'t Type, name: &str) -> Option<&'t Type> {
    let last = type_path(ty)?.segments.last()?;
    if last.ident != name {
        return None;
    }
    match &last.arguments {
        PathArguments::AngleBracketed(args) if args.args.len() == 1 => match &args.args[0] {
            GenericArgument::Type(inner) => Some(inner),
            _ => None,
        },
        _ => None,
    }
}

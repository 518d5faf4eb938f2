//! The model input of a `#[derive(FeatureVector)]` field: its columns, resolved from the field's
//! attributes and the registry's feature (which must agree where both give a setting).

use fstore_registry::{Encode, Feature};

use crate::ast::{Field, Scalar};
use crate::attr::Vocab;
use crate::check::{Agreed, Declared, ListDecl};
use crate::ctxt::Ctxt;

/// What a field contributes to the model input.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Nothing: `#[fstore(skip)]`.
    Skip,
    /// One column: a number, a bool (0/1), `None` as NaN.
    Number,
    /// One column per vocabulary entry.
    OneHot(Vec<String>),
    /// One column: the position in the vocabulary, -1 when unknown.
    Index(Vec<String>),
    /// `len` columns of a `Vec<f32>`.
    List(usize),
}

impl Column {
    /// The number of `f32` columns.
    pub fn width(&self) -> usize {
        match self {
            Column::Skip => 0,
            Column::Number | Column::Index(_) => 1,
            Column::OneHot(vocab) => vocab.len(),
            Column::List(len) => *len,
        }
    }

    /// The column names: `view__feature`, `view__feature=entry` per one-hot entry,
    /// `view__feature[i]` per list element. `__` separates view and feature because both may
    /// contain `_`.
    pub fn names(&self, view: &str, feature: &str) -> Vec<String> {
        let base = format!("{view}__{feature}");
        match self {
            Column::Skip => Vec::new(),
            Column::Number | Column::Index(_) => vec![base],
            Column::OneHot(vocab) => vocab.iter().map(|e| format!("{base}={e}")).collect(),
            Column::List(len) => (0..*len).map(|i| format!("{base}[{i}]")).collect(),
        }
    }
}

/// The values `encode` accepts.
pub const ENCODINGS: [&str; 2] = ["onehot", "index"];

/// `encode = "..."` as an [`Encode`].
pub fn parse_encode(text: &str) -> Option<Encode> {
    match text {
        "onehot" => Some(Encode::OneHot),
        "index" => Some(Encode::Index),
        _ => None,
    }
}

/// What a field's model input is resolved from: the field, its stored name, the registry's
/// feature it reads (if any) and the registry file's name (if any).
pub struct Source<'f, 'a> {
    pub field: &'f Field<'a>,
    /// The stored feature name.
    pub feature: &'f str,
    /// The registry's feature, when there is a registry.
    pub rfeature: Option<&'f Feature>,
    /// The registry file as the user named it, when there is one.
    pub file: Option<&'f str>,
}

impl Source<'_, '_> {
    /// How the field becomes model input, given its list declaration `list` (a `Vec<f32>`
    /// field's, `None` for other fields or when it is wrong); errors go to `cx`.
    pub fn column(&self, cx: &mut Ctxt, list: Option<ListDecl>) -> Option<Column> {
        let kind = self.field.kind?;
        let attrs = &self.field.attrs;
        let agreed = Agreed {
            feature: self.feature,
            declared: self
                .rfeature
                .zip(self.file)
                .map(|(feature, file)| Declared { feature, file }),
            shared_by: "writers and trainers",
        };
        let vocab = agreed.setting(
            cx,
            "vocab",
            attrs.vocab.as_ref().map(|v| &v.key),
            attrs.vocab.as_ref().map(Vocab::values),
            self.rfeature.and_then(|r| r.vocab.clone()),
            |v| format!("{v:?}"),
        )?;
        if kind.scalar == Scalar::FloatList && list.is_none() {
            // The list's settings are wrong: already an error.
            return None;
        }
        if attrs.skip.is_some() {
            return Some(Column::Skip);
        }
        Some(match kind.scalar {
            Scalar::String => self.vocab_column(cx, vocab)?,
            Scalar::FloatList => Column::List(self.list_len(cx, list?.len)?),
            _ => Column::Number,
        })
    }

    /// A string feature is model input through its vocabulary: one-hot or index encoded.
    fn vocab_column(&self, cx: &mut Ctxt, vocab: Option<Vec<String>>) -> Option<Column> {
        let (feature, attrs) = (self.feature, &self.field.attrs);
        let Some(vocab) = vocab else {
            let hint = self.registry_hint();
            match &attrs.encode {
                Some(encode) => cx.error_spanned_by(
                    &encode.key,
                    format!(
                        "`encode` needs a `vocab`, and `{feature}` has none: add \
                         `vocab = [...]` {hint}"
                    ),
                ),
                None => cx.error_spanned_by(
                    self.field.ident,
                    format!(
                        "string feature `{feature}` has no vocabulary, so it cannot be model \
                         input: add `vocab = [...]` (and `encode = \"onehot\"` or `\"index\"`) \
                         {hint}, or mark the field `#[fstore(skip)]`"
                    ),
                ),
            }
            return None;
        };
        // The field's `encode` is the model's choice and overrides the registry's.
        let encode = match &attrs.encode {
            Some(encode) => parse_encode(&encode.value.value())?,
            None => self
                .rfeature
                .and_then(|r| r.encode)
                .unwrap_or(Encode::OneHot),
        };
        Some(match encode {
            Encode::OneHot => Column::OneHot(vocab),
            Encode::Index => Column::Index(vocab),
        })
    }

    /// A `Vec<f32>` feature has a `len`: its number of columns.
    fn list_len(&self, cx: &mut Ctxt, len: Option<usize>) -> Option<usize> {
        if len.is_none() {
            let (feature, hint) = (self.feature, self.registry_hint());
            cx.error_spanned_by(
                self.field.ident,
                format!(
                    "`{feature}` is a `Vec<f32>` without a `len`, so its number of columns is \
                     unknown: add `len = N` {hint}, or mark the field `#[fstore(skip)]`"
                ),
            );
        }
        len
    }

    /// Where a missing setting can be added: "here", or "here or in features.toml".
    fn registry_hint(&self) -> String {
        match self.file {
            Some(file) => format!("here or in {file}"),
            None => "here".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_encode, Column};
    use fstore_registry::Encode;

    #[test]
    fn column_names_and_widths() {
        let vocab = vec!["basic".to_owned(), "vip".to_owned()];
        let cases = [
            (Column::Skip, vec![]),
            (Column::Number, vec!["user_profile__age"]),
            (Column::Index(vocab.clone()), vec!["user_profile__age"]),
            (
                Column::OneHot(vocab),
                vec!["user_profile__age=basic", "user_profile__age=vip"],
            ),
            (
                Column::List(3),
                vec![
                    "user_profile__age[0]",
                    "user_profile__age[1]",
                    "user_profile__age[2]",
                ],
            ),
        ];
        for (column, names) in cases {
            assert_eq!(column.names("user_profile", "age"), names);
            assert_eq!(column.width(), names.len());
        }
    }

    #[test]
    fn encodings() {
        assert_eq!(parse_encode("onehot"), Some(Encode::OneHot));
        assert_eq!(parse_encode("index"), Some(Encode::Index));
        assert_eq!(parse_encode("one_hot"), None);
    }
}

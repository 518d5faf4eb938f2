//! Entity ids: what goes after the view name in a key.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::rc::Rc;
use std::sync::Arc;

/// A value that identifies an entity: `&str`, `String`, the integer types, and references to them.
///
/// The id is written verbatim after the view's key prefix: `fs:v1:user_profile:` + `user_123`.
/// Any non-empty text is a valid id, including `:`, `{`, `}` and unicode; the empty id is an
/// [`Error::InvalidEntityId`](crate::Error::InvalidEntityId). Implement it for your own id types
/// (a newtype around a `u64`, say) by writing the text form:
///
/// ```
/// struct UserId(u64);
///
/// impl fstore_runtime::EntityId for UserId {
///     fn write_id(&self, out: &mut String) {
///         fstore_runtime::EntityId::write_id(&self.0, out)
///     }
/// }
/// ```
pub trait EntityId {
    /// Appends the id's text form to `out`.
    fn write_id(&self, out: &mut String);
}

impl EntityId for str {
    fn write_id(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl EntityId for String {
    fn write_id(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl EntityId for Cow<'_, str> {
    fn write_id(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl<T: EntityId + ?Sized> EntityId for &T {
    fn write_id(&self, out: &mut String) {
        (**self).write_id(out);
    }
}

impl<T: EntityId + ?Sized> EntityId for Box<T> {
    fn write_id(&self, out: &mut String) {
        (**self).write_id(out);
    }
}

impl<T: EntityId + ?Sized> EntityId for Arc<T> {
    fn write_id(&self, out: &mut String) {
        (**self).write_id(out);
    }
}

impl<T: EntityId + ?Sized> EntityId for Rc<T> {
    fn write_id(&self, out: &mut String) {
        (**self).write_id(out);
    }
}

macro_rules! int_id {
    ($($t:ty),*) => {$(
        impl EntityId for $t {
            fn write_id(&self, out: &mut String) {
                // Writing to a String cannot fail.
                let _ = write!(out, "{self}");
            }
        }
    )*};
}

int_id!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

//! Reading `null` the way the API server does.
//!
//! The API server drops a `null` on a field that is not nullable and then applies the field's
//! default ("Defaulting and Nullable" in the Kubernetes CRD docs). Helm templates often write
//! such nulls (`batchSize: {{ .Values.missing }}`). So every defaulted field deserializes
//! through [`or_default`] or a function made by [`defaults!`], which read `null` as the default
//! instead of failing. Optional fields need nothing: serde already reads `null` as `None`.

use serde::{Deserialize, Deserializer};

/// Deserializes a field whose default is `T::default()`, reading `null` as that default.
pub(crate) fn or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Defines, for each `default_fn / null_fn: Type = value;`, the serde default function
/// `default_fn` and a `deserialize_with` function `null_fn` that reads `null` as that default.
macro_rules! defaults {
    ($($default:ident / $or_null:ident: $ty:ty = $value:expr;)*) => {
        $(
            fn $default() -> $ty {
                $value
            }

            fn $or_null<'de, D>(deserializer: D) -> Result<$ty, D::Error>
            where
                D: serde::Deserializer<'de>,
            {
                Ok(<Option<$ty> as serde::Deserialize>::deserialize(deserializer)?
                    .unwrap_or_else($default))
            }
        )*
    };
}

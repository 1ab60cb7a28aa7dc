//! Expansion: each Pipeline and Function becomes its child objects.

pub mod podspec;

//! One module per command. Each checks its flags against each other before it reads any
//! input, calls the library and prints; they share only the modules beside `cmd/`.

pub mod check;
pub mod completions;
pub mod crds;
pub mod diff;
pub mod discover;
pub mod profile;
pub mod render;

//! Integration tests for `layer-render`: one binary, one module per topic.
mod tools;

//! The `layer-render` binary: parse flags, call the library, map the result to an exit code.

fn main() {
    println!("layer-render");
}

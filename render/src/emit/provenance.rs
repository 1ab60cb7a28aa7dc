//! `.layer-render.json`: what an `--out` tree was rendered from and what it holds.
//!
//! The renderer version, a digest of the render options (profile and flags), a digest of the
//! input objects, the inputs and flags of the render (paths relative to the tree), and the
//! hash of every file written. `layer-render check` reads it to tell a hand edit (a file whose
//! content no longer has its recorded hash) from a stale render (other inputs or options), and
//! to render the tree again without being told its inputs. Nothing in it depends on the time
//! or the machine: paths are relative to the tree, so the same repository gives the same file
//! wherever it is checked out.

use rayon::prelude::*;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::emit::OutFile;
use crate::hash::content_hash;
use crate::load::Document;

/// The file name, at the top of the tree.
pub const FILE: &str = ".layer-render.json";

/// The provenance record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// `layer-render <version>`.
    pub renderer: String,
    /// Digest of the profile and the flags that change the output.
    pub options_digest: String,
    /// Digest of the input objects, independent of file names and order.
    pub input_digest: String,
    /// The inputs and flags of the render; absent when an input was stdin, which cannot be
    /// read again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendered_with: Option<RenderedWith>,
    /// Every file of the tree (but this one), to the hash of its bytes.
    pub files: BTreeMap<String, String>,
}

/// What a tree was rendered from, so that `check` can render it again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderedWith {
    /// The input paths, relative to the tree, with `/` separators.
    pub inputs: Vec<String>,
    /// The flags that change the output, as command-line words; the paths among them (the
    /// profile, `--nodepools`) relative to the tree.
    pub flags: Vec<String>,
}

/// The digest of input documents: the sorted hashes of each object's JSON, so neither file
/// names, file order nor formatting change it.
pub fn input_digest(documents: &[Document]) -> String {
    let mut hashes: Vec<String> = documents
        .par_iter()
        .map(|d| content_hash(&d.root.to_json()))
        .collect();
    hashes.sort();
    content_hash(&Value::from(hashes))
}

/// The hash of a file's bytes.
pub fn file_hash(text: &str) -> String {
    crate::hash::string_hash(text)
}

impl Provenance {
    /// The record of a tree's files.
    pub fn new(
        files: &[OutFile],
        options_digest: String,
        input_digest: String,
        rendered_with: Option<RenderedWith>,
    ) -> Self {
        Provenance {
            renderer: format!("layer-render {}", env!("CARGO_PKG_VERSION")),
            options_digest,
            input_digest,
            rendered_with,
            files: files
                .par_iter()
                .map(|file| (file.path.clone(), file_hash(&file.text)))
                .collect(),
        }
    }

    /// The file's text: pretty JSON with sorted keys and a final newline.
    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Parses the file's text.
    pub fn parse(text: &str) -> Result<Provenance, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Files whose content no longer has its recorded hash, recorded files that are gone, and
    /// files it does not record, given every file of a tree as it is on disk now with the
    /// hash of its bytes ([`file_hash`]), in path order: both are walked once, side by side.
    pub fn hand_edits<'a>(
        &self,
        on_disk: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Vec<String> {
        let mut edited = Vec::new();
        let mut added = Vec::new();
        let mut recorded = self.files.iter().peekable();
        let mut previous: Option<&str> = None;
        for (path, hash) in on_disk {
            debug_assert!(
                previous < Some(path),
                "{path}: the tree's files out of path order"
            );
            previous = Some(path);
            while let Some((gone, _)) = recorded.next_if(|(r, _)| r.as_str() < path) {
                edited.push(format!("{gone} was removed"));
            }
            match recorded.next_if(|(r, _)| r.as_str() == path) {
                Some((_, kept)) if kept == hash => {}
                Some(_) => edited.push(format!("{path} was edited by hand")),
                None => added.push(format!("{path} was added by hand")),
            }
        }
        edited.extend(recorded.map(|(gone, _)| format!("{gone} was removed")));
        edited.extend(added);
        edited
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::load::{Limits, load_str};

    fn docs(text: &str, name: &str) -> Vec<Document> {
        load_str(name, text, &Limits::default()).documents
    }

    #[test]
    fn the_input_digest_ignores_file_names_order_and_formatting() {
        let a = docs("kind: A\nx: 1\n---\nkind: B\n", "a.yaml");
        let b = docs("kind: B\n---\n{x: 1,   kind: A}\n", "other/b.yml");
        assert_eq!(input_digest(&a), input_digest(&b));
        assert_ne!(
            input_digest(&a),
            input_digest(&docs("kind: A\nx: 2\n", "a.yaml"))
        );
    }

    #[test]
    fn hand_edits_added_and_removed_files_are_named() {
        let files = [
            OutFile::other("a.yaml", "a\n".into()),
            OutFile::other("b.yaml", "b\n".into()),
        ];
        let record = Provenance::new(&files, "o".into(), "i".into(), None);
        let hashes = |files: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
            files
                .iter()
                .map(|(p, text)| (*p, file_hash(text)))
                .collect()
        };
        fn borrowed<'a>(hashes: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
            hashes.iter().map(|(p, h)| (*p, h.as_str())).collect()
        }
        let same = hashes(&[("a.yaml", "a\n"), ("b.yaml", "b\n")]);
        assert_eq!(record.hand_edits(borrowed(&same)), Vec::<String>::new());
        let disk = hashes(&[("a.yaml", "changed\n"), ("c.yaml", "new\n")]);
        assert_eq!(
            record.hand_edits(borrowed(&disk)),
            [
                "a.yaml was edited by hand",
                "b.yaml was removed",
                "c.yaml was added by hand"
            ]
        );
        // Gone and added files before, between and after the kept ones.
        let record = Provenance::new(
            &[
                OutFile::other("b.yaml", "b\n".into()),
                OutFile::other("d.yaml", "d\n".into()),
                OutFile::other("f.yaml", "f\n".into()),
            ],
            "o".into(),
            "i".into(),
            None,
        );
        let disk = hashes(&[
            ("a.yaml", "a\n"),
            ("c.yaml", "c\n"),
            ("d.yaml", "d\n"),
            ("e.yaml", "e\n"),
            ("g.yaml", "g\n"),
        ]);
        assert_eq!(
            record.hand_edits(borrowed(&disk)),
            [
                "b.yaml was removed",
                "f.yaml was removed",
                "a.yaml was added by hand",
                "c.yaml was added by hand",
                "e.yaml was added by hand",
                "g.yaml was added by hand"
            ]
        );
    }

    #[test]
    fn the_record_round_trips_through_its_text() {
        let with = RenderedWith {
            inputs: vec!["../crs".into()],
            flags: vec!["--strict".into()],
        };
        let record = Provenance::new(
            &[OutFile::other("a.yaml", "a\n".into())],
            "o".into(),
            "i".into(),
            Some(with),
        );
        assert_eq!(Provenance::parse(&record.to_text()).unwrap(), record);
        assert!(
            record
                .to_text()
                .contains("\"renderedWith\": {\n    \"inputs\": [\n      \"../crs\"\n    ],\n    \"flags\": [\n      \"--strict\"\n    ]\n  },\n")
        );
        // A record written before the field existed still reads.
        let old = "{\"renderer\": \"x\", \"optionsDigest\": \"o\", \"inputDigest\": \"i\", \"files\": {}}";
        assert_eq!(Provenance::parse(old).unwrap().rendered_with, None);
        assert!(
            record
                .to_text()
                .starts_with("{\n  \"renderer\": \"layer-render ")
        );
    }
}

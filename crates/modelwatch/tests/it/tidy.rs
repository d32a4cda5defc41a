//! Repository hygiene (after rust-analyzer's tidy test): every Rust file says what it is for,
//! stays under 600 lines (one file, one concept), and no test is skipped, expected to panic,
//! or sleeps.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name == "target") {
                continue;
            }
            rust_files(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

/// The most lines a Rust file may have.
const MAX_LINES: usize = 600;

#[test]
fn every_rust_file_opens_with_a_module_doc_and_nothing_is_skipped_or_slept() {
    let mut files = Vec::new();
    rust_files(&crate::repo_root().join("crates"), &mut files);
    assert!(files.len() > 20, "found only {} files", files.len());
    // Spelled in pieces so that this file does not match itself.
    let banned = [
        ["#[should", "_panic"].concat(),
        ["#[ig", "nore"].concat(),
        ["thread::", "sleep("].concat(),
        ["time::", "sleep("].concat(),
        ["to", "do!("].concat(),
        ["unimple", "mented!("].concat(),
        ["db", "g!("].concat(),
    ];
    rust_files(&crate::repo_root().join("fuzz"), &mut files);
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let lines = text.lines().count();
        if lines > MAX_LINES {
            problems.push(format!(
                "{}: {lines} lines, over {MAX_LINES}: split it by concept",
                file.display()
            ));
        }
        if !text.starts_with("//!") {
            problems.push(format!("{}: does not open with a //! line", file.display()));
        }
        for pattern in &banned {
            if text.contains(pattern.as_str()) {
                problems.push(format!("{}: contains {pattern}", file.display()));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// utoipa names a schema after its type and keeps the last one registered under a name, so two
/// types of one name would document one body with the other's schema: every type deriving
/// `ToSchema` in the server has a name of its own.
#[test]
fn every_openapi_schema_has_a_name_of_its_own() {
    let mut files = Vec::new();
    rust_files(
        &crate::repo_root().join("crates/modelwatch/src"),
        &mut files,
    );
    let mut names: Vec<(String, String)> = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let mut deriving = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with("#[derive(") && line.contains("ToSchema") {
                deriving = true;
            } else if deriving && !line.starts_with("#[") && !line.starts_with("///") {
                deriving = false;
                let declared = line
                    .split_whitespace()
                    .skip_while(|word| !matches!(*word, "struct" | "enum"))
                    .nth(1);
                if let Some(name) = declared {
                    let name = name.trim_end_matches(['{', '(', ';', '<']).to_string();
                    names.push((name, file.display().to_string()));
                }
            }
        }
    }
    assert!(names.len() > 20, "found only {} schemas", names.len());
    names.sort();
    let twice: Vec<_> = names
        .windows(2)
        .filter(|pair| pair[0].0 == pair[1].0)
        .map(|pair| format!("{} in {} and {}", pair[0].0, pair[0].1, pair[1].1))
        .collect();
    assert!(twice.is_empty(), "schemas named twice: {twice:?}");
}

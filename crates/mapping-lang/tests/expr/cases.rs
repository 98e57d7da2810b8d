//! The one format of every case table: blocks separated by blank lines, each `# comment`
//! lines, the input lines (an expression, then optional `user: {json}` / `now: …` lines), `---`,
//! then the expected output (regenerated, never hand-edited).

use std::path::PathBuf;

use expect_test::ExpectFile;

pub struct Case {
    pub comments: Vec<String>,
    pub input: Vec<String>,
}

fn data_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/expr")
        .join(name)
}

/// The inputs of the table `tests/data/expr/{name}`.
pub fn read(name: &str) -> Vec<Case> {
    let text = std::fs::read_to_string(data_path(name)).unwrap();
    let mut cases = Vec::new();
    for block in text.split("\n\n") {
        let mut comments = Vec::new();
        let mut input = Vec::new();
        for line in block.lines() {
            if line == "---" {
                break;
            }
            if line.starts_with('#') && input.is_empty() {
                comments.push(line.to_owned());
            } else {
                input.push(line.to_owned());
            }
        }
        if !input.is_empty() {
            cases.push(Case { comments, input });
        }
    }
    cases
}

/// Runs `run` on every case of `tests/data/expr/{name}` and compares the rewritten table with
/// the file (`expect` must name the same file).
pub fn check(name: &str, expect: ExpectFile, run: impl Fn(&[String]) -> String) {
    let mut out = String::new();
    for case in read(name) {
        if !out.is_empty() {
            out.push('\n');
        }
        for line in case.comments.iter().chain(&case.input) {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("---\n");
        let result = run(&case.input);
        assert!(
            !result.contains("\n\n"),
            "output of {:?} has a blank line",
            case.input
        );
        out.push_str(result.trim_end());
        out.push('\n');
    }
    expect.assert_eq(&out);
}

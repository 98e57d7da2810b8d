//! The one format of every case table: blocks separated by blank lines, each `# comment`
//! lines, one input line, `---`, then the expected output (regenerated, never hand-edited).

use std::path::PathBuf;

use expect_test::ExpectFile;

pub struct Case {
    pub comments: Vec<String>,
    pub input: String,
}

fn data_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The inputs of the table `tests/data/{name}`.
pub fn read(name: &str) -> Vec<Case> {
    let text = std::fs::read_to_string(data_path(name)).unwrap();
    let mut cases = Vec::new();
    for block in text.split("\n\n") {
        let mut comments = Vec::new();
        let mut input = None;
        for line in block.lines() {
            if line.starts_with('#') && input.is_none() {
                comments.push(line.to_owned());
            } else {
                input = Some(line.to_owned());
                break;
            }
        }
        if let Some(input) = input {
            cases.push(Case { comments, input });
        }
    }
    cases
}

/// Runs `run` on every input of `tests/data/{name}` and compares the rewritten table with the
/// file (`expect` must name the same file).
pub fn check(name: &str, expect: ExpectFile, run: impl Fn(&str) -> String) {
    let mut out = String::new();
    for case in read(name) {
        if !out.is_empty() {
            out.push('\n');
        }
        for comment in &case.comments {
            out.push_str(comment);
            out.push('\n');
        }
        out.push_str(&case.input);
        out.push_str("\n---\n");
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

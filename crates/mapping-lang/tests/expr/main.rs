//! Tests of mapping expressions. Most cases are tables in `tests/data/expr/*.txt`; run with
//! `UPDATE_EXPECT=1` to rewrite their expected outputs after a deliberate change.

// Tests are exempt from the no-panic lints (STYLE 8): a panic is how they fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod cases;
mod check;
mod eval;
mod mapping;
mod parse;
mod robust;
mod scoping;

//! Dynamic-membership rules in Entra ID's syntax (`user.department -eq "Sales"`): lexer →
//! parser → AST with spans → evaluator with explanations. Pure.
//!
//! ```text
//! rule       ::= "Direct" "Reports" "for" string | or
//! or         ::= and (("-or" | "or") and)*
//! and        ::= not (("-and" | "and") not)*
//! not        ::= ("-not" | "not") not | primary
//! primary    ::= "(" or ")" | comparison
//! comparison ::= operand op value
//!              | "user." name ("-any" | "-all") "(" or ")"      -- body over "_" / var.field
//! operand    ::= "user." name | "_" | var "." field               -- the last two only in a body
//! op         ::= "-"? ("eq" | "ne" | "startsWith" | "notStartsWith" | "endsWith"
//!                | "notEndsWith" | "contains" | "notContains" | "match" | "notMatch"
//!                | "in" | "notIn" | "le" | "ge" | "lt" | "gt")   -- any case; lt/gt: extensions
//! value      ::= string | number | "true" | "false" | "null" | array | now
//! string     ::= '"' (char | "`" char)* '"' | "'" (char | "''")* "'"
//!              | "`" char ...                                     -- bare backtick-escaped value
//! array      ::= "[" ((string | number) ("," (string | number))*)? "]"
//! now        ::= "system.now" (("-plus" | "-minus") duration)?    -- duration: ISO 8601, P1D, PT12H
//! ```
//!
//! Precedence, tightest first: comparisons (and `-any`/`-all`), `-not`, `-and`, `-or`.
//! Keywords and operators are case-insensitive and work with or without the hyphen.
//!
//! Checks made at parse time, each an error with a span: the rule is at most
//! [`MAX_RULE_LEN`] characters and nests at most [`MAX_DEPTH`] levels; properties need the
//! `user.` prefix and resolve through [`mapping_lang::source::resolve`]; `null` only with
//! `-eq`/`-ne` (and not under `-not`); arrays only with `-in`/`-notIn`; `system.now` only with
//! `-le`/`-ge`/`-lt`/`-gt`; regexes compile; the collection properties (`otherMails`,
//! `proxyAddresses`, `assignedPlans`, `memberOf`, …) only with `-any`/`-all`.
//!
//! Properties: the names of the shared source table (`user.department` reads the enterprise
//! `department`, …); `user.extensionAttribute1`..`15` read
//! `urn:ietf:params:scim:schemas:extension:scimitar:2.0:User:extensionAttributeN`;
//! `user.memberOf` reads `groups` (its items' `objectId` is the group reference's `value`);
//! other names (`employeeHireDate`, `assignedPlans`, `extension_<app>_<name>`) are read as SCIM
//! attribute paths of the same name.
//!
//! The evaluation semantics are documented in [`Rule::evaluate`]'s module (`eval`): case
//! insensitive, absent properties only equal `null`, negated operators are the negation of
//! their positive forms.

mod ast;
mod error;
mod eval;
mod lexer;
mod parser;

pub use ast::{
    Comparison, Expr, Literal, Op, Operand, Property, Quantified, Quantifier, RelativeTime, Rule,
    Span,
};
pub use error::ParseError;
pub use eval::Explanation;
pub use parser::{parse, MAX_DEPTH, MAX_RULE_LEN, SCIMITAR_EXTENSION};

//! The documented functions (spec §2.3) and how many arguments each takes.

/// One function's name and arity.
#[derive(Debug, Clone, Copy)]
pub struct Signature {
    pub name: &'static str,
    pub min: usize,
    /// `None`: any number from `min` up.
    pub max: Option<usize>,
    /// The arguments after the first two come in key/value pairs (Switch).
    pub pairs: bool,
}

const fn sig(name: &'static str, min: usize, max: usize) -> Signature {
    Signature {
        name,
        min,
        max: Some(max),
        pairs: false,
    }
}

const fn many(name: &'static str, min: usize) -> Signature {
    Signature {
        name,
        min,
        max: None,
        pairs: false,
    }
}

pub const SIGNATURES: &[Signature] = &[
    sig("Append", 2, 2),
    sig("AppRoleAssignmentsComplex", 1, 1),
    sig("AssertiveAppRoleAssignmentsComplex", 1, 1),
    sig("BitAnd", 2, 2),
    sig("CBool", 1, 1),
    sig("CDate", 1, 1),
    many("Coalesce", 1),
    sig("ConvertToBase64", 1, 1),
    sig("ConvertToUTF8Hex", 1, 1),
    sig("Count", 1, 1),
    sig("CStr", 1, 1),
    sig("DateAdd", 3, 3),
    sig("DateDiff", 3, 3),
    sig("DateFromNum", 1, 1),
    sig("DefaultDomain", 0, 0),
    sig("FormatDateTime", 3, 4),
    sig("Guid", 0, 0),
    sig("IgnoreFlowIfNullOrEmpty", 1, 1),
    sig("IIF", 3, 3),
    sig("InStr", 2, 4),
    sig("IsNull", 1, 1),
    sig("IsNullOrEmpty", 1, 1),
    sig("IsPresent", 1, 1),
    sig("IsString", 1, 1),
    sig("Item", 2, 2),
    many("Join", 1),
    sig("Left", 2, 2),
    sig("Len", 1, 1),
    sig("Mid", 3, 3),
    sig("NormalizeDiacritics", 1, 1),
    sig("Not", 1, 1),
    sig("Now", 0, 0),
    sig("NumFromDate", 1, 1),
    sig("PCase", 1, 2),
    sig("RandomString", 5, 6),
    sig("Redact", 1, 1),
    sig("RemoveDuplicates", 1, 1),
    sig("Replace", 7, 7),
    many("SelectUniqueValue", 2),
    sig("SingleAppRoleAssignment", 1, 1),
    sig("Split", 2, 2),
    sig("StripSpaces", 1, 1),
    Signature {
        name: "Switch",
        min: 2,
        max: None,
        pairs: true,
    },
    sig("ToLower", 1, 2),
    sig("ToUpper", 1, 2),
    sig("Word", 3, 3),
];

pub fn lookup(name: &str) -> Option<&'static Signature> {
    SIGNATURES.iter().find(|s| s.name == name)
}

/// The documented spelling of `name` when it differs only in case.
pub fn suggest(name: &str) -> Option<&'static str> {
    SIGNATURES
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(name))
        .map(|s| s.name)
}

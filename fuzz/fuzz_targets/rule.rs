//! Dynamic-membership rules: parsing never panics, printing round-trips, evaluation and
//! explanation never panic and agree.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(rule) = group_rules::parse(input) else {
        return;
    };
    let printed = rule.to_string();
    if printed.len() <= group_rules::MAX_RULE_LEN {
        match group_rules::parse(&printed) {
            Ok(again) => assert_eq!(again.to_sexpr(false), rule.to_sexpr(false), "{printed}"),
            Err(e) => panic!("{input:?} printed as {printed:?}, which does not parse: {e}"),
        }
    }
    let user = common::user();
    let now = jiff::Timestamp::UNIX_EPOCH;
    let decided = rule.evaluate(&user, now);
    assert_eq!(rule.explain(&user, now).result, decided, "{input:?}");
});

//! Mapping expressions: parsing never panics, printing round-trips, checking and evaluation
//! (bounded by fuel) never panic.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use mapping_lang::expr;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = expr::parse(input) else {
        return;
    };
    let printed = parsed.to_string();
    if printed.len() <= expr::MAX_LEN {
        match expr::parse(&printed) {
            Ok(again) => assert_eq!(again.without_spans(), parsed.without_spans(), "{printed}"),
            Err(e) => panic!("{input:?} printed as {printed:?}, which does not parse: {e}"),
        }
    }
    let _ = expr::check(&parsed, &expr::Env { schema: Some(&common::Schema) });
    let user = common::user();
    let mut context = expr::Context::new(&user, jiff::Timestamp::UNIX_EPOCH);
    context.default_domain = Some("example.com".into());
    context.fuel = 10_000;
    let _ = expr::eval(&parsed, &context);
});

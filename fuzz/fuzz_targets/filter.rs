//! Filters: parsing never panics, printing round-trips, evaluation and checking never panic.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(filter) = scim_filter::parse_filter(input) else {
        return;
    };
    let printed = filter.to_string();
    // Printing escapes control characters (`\u000b`), so a valid input near the length limit
    // may print longer than the parser accepts: the round trip holds within the limit.
    if printed.len() > scim_filter::MAX_LEN {
        return;
    }
    match scim_filter::parse_filter(&printed) {
        Ok(reparsed) => assert_eq!(
            reparsed.without_spans(),
            filter.without_spans(),
            "{printed}"
        ),
        Err(e) => panic!("{input:?} printed as {printed:?}, which does not parse: {e}"),
    }
    let _ = filter.matches(&common::user(), &common::Schema);
    let _ = scim_filter::check(&filter, &common::Schema);
    let _ = filter.simple_eq();
});

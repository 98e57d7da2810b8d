//! PATCH paths and attribute paths: parsing never panics and printing round-trips.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(attr) = scim_filter::parse_attr_path(input) {
        let printed = attr.to_string();
        if printed.len() > scim_filter::MAX_LEN {
            return;
        }
        match scim_filter::parse_attr_path(&printed) {
            Ok(reparsed) => assert_eq!(reparsed.without_span(), attr.without_span(), "{printed}"),
            Err(e) => panic!("{input:?} printed as {printed:?}, which does not parse: {e}"),
        }
        let _ = scim_filter::values_at(&common::user(), &attr);
    }
    let Ok(path) = scim_filter::parse_path(input) else {
        return;
    };
    let printed = path.to_string();
    // See the filter target: the round trip holds within the length limit.
    if printed.len() > scim_filter::MAX_LEN {
        return;
    }
    match scim_filter::parse_path(&printed) {
        Ok(reparsed) => assert_eq!(reparsed.without_spans(), path.without_spans(), "{printed}"),
        Err(e) => panic!("{input:?} printed as {printed:?}, which does not parse: {e}"),
    }
    if let Some(filter) = &path.filter {
        let _ = filter.matches(&common::user(), &common::Schema);
    }
});

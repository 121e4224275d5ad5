//! Any bytes as a stored record (a store's data is outside input too): it
//! decodes or is an error, and what decodes encodes back to the same record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use session_jwt_core::Record;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = Record::from_json(data) {
        let again = Record::from_json(&record.to_json()).expect("a record re-decodes");
        assert_eq!(again, record);
    }
});

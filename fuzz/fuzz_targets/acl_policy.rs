//! libFuzzer entry for the `acl_policy` target; the body is
//! `nomadish_fuzz_entry::acl_policy::run`, shared with the stable corpus test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| nomadish_fuzz_entry::acl_policy::run(data));

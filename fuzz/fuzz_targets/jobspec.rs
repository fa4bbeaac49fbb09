//! libFuzzer entry for the `jobspec` target; the body is
//! `nomadish_fuzz_entry::jobspec::run`, shared with the stable corpus test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| nomadish_fuzz_entry::jobspec::run(data));

//! libFuzzer entry for the `http_job_json` target; the body is
//! `nomadish_fuzz_entry::http_job::run`, shared with the stable corpus test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| nomadish_fuzz_entry::http_job::run(data));

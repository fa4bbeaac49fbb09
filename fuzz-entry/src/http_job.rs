//! The `http_job_json` target: a `PUT /v1/jobs` body through the register handler's decoding,
//! canonicalization and validation ([`nomadish_server::http::decode_registration`]).
//!
//! Input: the request body, as bytes.

use std::collections::HashMap;

use nomadish_proto::model::Job;
use nomadish_server::http::{HttpError, QueryOptions, decode_registration};

/// The target: decodes; a rejection must be a 400; an accepted job is a fixed point (decoding
/// its own JSON, as `nomadish job inspect | nomadish job run -json` does, gives it back).
pub fn run(data: &[u8]) {
    if let Some(job) = decode(data) {
        let body = serde_json::to_vec(&serde_json::json!({ "Job": job }))
            .expect("a decoded job serializes");
        let again = decode(&body).expect("a decoded job's own JSON is accepted");
        assert_eq!(
            again, job,
            "a decoded job's own JSON decodes to another job"
        );
    }
}

/// Decodes a register body as the handler does (namespace `default`, not given explicitly);
/// `None` when it is rejected, after checking the rejection is a 400.
pub fn decode(body: &[u8]) -> Option<Job> {
    let opts = QueryOptions::parse(HashMap::new()).expect("no query parameters parse");
    match decode_registration(body, &opts, None) {
        Ok(reg) => Some(reg.job),
        Err(HttpError { status, message }) => {
            assert_eq!(status.as_u16(), 400, "not a 400: {message}");
            None
        }
    }
}

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sessions_fuzz::actix_session_cookie(data));

//! `http_headers`: see `parley_server::fuzzing::http_headers` for what it decodes and its input layout.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| parley_server::fuzzing::http_headers(data));

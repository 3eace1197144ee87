//! `identity`: see `parley_server::fuzzing::identity` for what it decodes and its input layout.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| parley_server::fuzzing::identity(data));

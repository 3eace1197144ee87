//! `gms_form`: see `parley_server::fuzzing::gms_form` for what it decodes and its input layout.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| parley_server::fuzzing::gms_form(data));

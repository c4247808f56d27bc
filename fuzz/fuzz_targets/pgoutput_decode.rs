//! Arbitrary bytes as one pgoutput message body, decoded under every protocol version (including
//! the out-of-range 0 and 5) with and without the in-stream flag. Decoding must never panic, must
//! be deterministic, and an error must point inside the buffer.
#![no_main]

use conduit_wasm::decode::{decode, DecodeContext};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for protocol_version in 0..=5 {
        for in_stream in [false, true] {
            let ctx = DecodeContext {
                in_stream,
                protocol_version,
            };
            let first = decode(data, &ctx);
            assert_eq!(first, decode(data, &ctx), "decode is not deterministic");
            if let Err(e) = first {
                assert!(e.offset() <= data.len(), "{e} (len {})", data.len());
                // Display must not panic either.
                let _ = e.to_string();
            }
        }
    }
});

//! Arbitrary text through the column value parser for every scalar kind and every array kind,
//! as the assembler does it (`String::from_utf8_lossy` of the column bytes). Parsing must never
//! panic, and a value that does not parse is kept verbatim as `other`.
#![no_main]

use conduit_wasm::assemble::types::{Kind, ScalarKind};
use conduit_wasm::assemble::value::{parse_array, parse_value};
use conduit_wasm::event::Value;
use libfuzzer_sys::fuzz_target;

const SCALARS: [ScalarKind; 13] = [
    ScalarKind::Int,
    ScalarKind::Float,
    ScalarKind::Bool,
    ScalarKind::Numeric,
    ScalarKind::Text,
    ScalarKind::Bytea,
    ScalarKind::Json,
    ScalarKind::Timestamptz,
    ScalarKind::Timestamp,
    ScalarKind::Date,
    ScalarKind::Time,
    ScalarKind::Uuid,
    ScalarKind::Other,
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for scalar in SCALARS {
        for kind in [Kind::Scalar(scalar), Kind::Array(scalar)] {
            match parse_value(kind, &text) {
                Value::Other(kept) => assert_eq!(kept, *text),
                Value::Array(items) => {
                    let elements = parse_array(&text).expect("an array value came from an array");
                    assert_eq!(items.len(), elements.len());
                }
                _ => assert!(matches!(kind, Kind::Scalar(_)), "{kind:?} gave a scalar"),
            }
        }
    }
});

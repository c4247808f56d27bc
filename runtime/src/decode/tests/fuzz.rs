//! A tiny deterministic mutation fuzzer (xorshift64, no dependencies) over the captured
//! messages: decode must never panic, must be deterministic, and errors must point inside
//! the buffer.

use super::*;
use crate::decode::{decode, DecodeContext};

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn mutate(rng: &mut XorShift, buf: &mut Vec<u8>) {
    const INTERESTING: [u32; 6] = [0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x0000_ffff];
    if buf.is_empty() {
        buf.push(rng.next() as u8);
        return;
    }
    let at = rng.below(buf.len());
    match rng.below(6) {
        0 => buf[at] ^= 1 << rng.below(8),
        1 => buf[at] = rng.next() as u8,
        2 => buf.insert(at, rng.next() as u8),
        3 => {
            buf.remove(at);
        }
        4 => buf.truncate(at),
        _ => {
            let value = INTERESTING[rng.below(INTERESTING.len())].to_be_bytes();
            for (i, b) in value.iter().enumerate() {
                if let Some(slot) = buf.get_mut(at + i) {
                    *slot = *b;
                }
            }
        }
    }
}

#[test]
fn mutated_captures_never_panic() {
    let corpus = all_captured();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let (mut ok, mut err) = (0u32, 0u32);
    for _ in 0..50_000 {
        let (_, original, _) = &corpus[rng.below(corpus.len())];
        let mut buf = original.clone();
        for _ in 0..=rng.below(4) {
            mutate(&mut rng, &mut buf);
        }
        let ctx = DecodeContext {
            in_stream: rng.below(2) == 1,
            protocol_version: 1 + rng.below(4) as u32,
        };
        let first = decode(&buf, &ctx);
        assert_eq!(first, decode(&buf, &ctx), "decode is not deterministic");
        match first {
            Ok(_) => ok += 1,
            Err(e) => {
                assert!(e.offset() <= buf.len(), "{e} (len {})", buf.len());
                assert!(e.to_string().starts_with("malformed pgoutput "));
                err += 1;
            }
        }
    }
    // Both outcomes must be exercised for the loop to mean anything.
    assert!(ok > 1_000 && err > 1_000, "ok {ok}, err {err}");
}

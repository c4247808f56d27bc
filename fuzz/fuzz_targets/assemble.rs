//! A sequence of pgoutput messages fed to the [`Assembler`], as the pipeline does: it must reject
//! out-of-order or inconsistent streams with an error and never panic.
//!
//! Input format (so that corpus files stay readable and the fuzzer can splice records): a
//! sequence of records `[control: u8][length: u16 BE][body: length bytes]`. `control` bit 0 is
//! the in-stream flag and bits 1–2 the protocol version minus one used to decode `body`; bits 3–5
//! pick the operation: 0–3 apply the decoded message (bodies that do not decode are skipped,
//! as the pipeline stops on them), 4 `take_part`, 5 `finish_streamed`, 6 `reset`, 7
//! `begin_streamed` with the fields of a Stream Commit body. A record cut short by the end of the
//! input uses what is there.
#![no_main]

use conduit_wasm::assemble::Assembler;
use conduit_wasm::decode::{decode, DecodeContext, Message};
use libfuzzer_sys::fuzz_target;

/// Built-in type OIDs that an unknown type can be learnt as a domain or an array of, as the
/// pipeline does after looking the type up in the catalog.
const BUILTIN: [u32; 12] = [16, 17, 20, 23, 25, 114, 701, 1082, 1083, 1114, 1184, 1700];

fuzz_target!(|data: &[u8]| {
    let mut asm = Assembler::default();
    let mut rest = data;
    while let Some((&control, tail)) = rest.split_first() {
        let (len, tail) = match tail {
            [hi, lo, tail @ ..] => (usize::from(u16::from_be_bytes([*hi, *lo])), tail),
            _ => (tail.len(), &[][..]),
        };
        let (body, tail) = tail.split_at(len.min(tail.len()));
        rest = tail;
        let ctx = DecodeContext {
            in_stream: control & 1 == 1,
            protocol_version: 1 + u32::from((control >> 1) & 3),
        };
        match control >> 3 & 7 {
            0..=3 => {
                let Ok(msg) = decode(body, &ctx) else {
                    continue;
                };
                for oid in asm.unknown_types(&msg) {
                    let pick = BUILTIN[oid as usize % BUILTIN.len()];
                    let (base, elem) = if oid & 1 == 0 { (pick, 0) } else { (0, pick) };
                    asm.types_mut().learn(oid, format!("t{oid}"), base, elem);
                }
                let was_commit = matches!(msg, Message::Commit(_));
                if let Ok(Some(txn)) = asm.apply(msg) {
                    assert!(was_commit, "only a Commit completes a transaction");
                    for pair in txn.changes.windows(2) {
                        assert_eq!(pair[0].change.seq + 1, pair[1].change.seq, "seq is dense");
                    }
                    for rc in &txn.changes {
                        assert_eq!(rc.change.end_lsn, txn.end_lsn);
                        assert_eq!(rc.change.commit_lsn, txn.commit_lsn);
                    }
                }
            }
            4 => {
                let _ = asm.take_part();
            }
            5 => {
                let _ = asm.finish_streamed();
            }
            6 => asm.reset(),
            _ => {
                if let Ok(Message::StreamCommit(c)) = decode(body, &ctx) {
                    asm.begin_streamed(c.xid, c.commit_lsn, c.end_lsn, c.commit_time);
                }
            }
        }
        let _ = asm.open_changes();
        let _ = asm.in_transaction();
    }
});

//! `run --record`: appending to and continuing an events file.

use super::*;

#[test]
fn recorder_appends_and_continues() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.jsonl");
    let batches = sample();
    let mut rec = Recorder::create(&path).unwrap();
    rec.append(&batches[0]).unwrap();
    rec.append(&batches[1]).unwrap();
    rec.close().unwrap();
    let mut rec = Recorder::append_to(&path).unwrap();
    assert_eq!(rec.batches(), 2);
    rec.append(&batches[2]).unwrap();
    rec.close().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, to_text(&batches));
    assert!(same(&read_events(&path).unwrap(), &batches));

    let fresh = dir.path().join("new.jsonl");
    let mut rec = Recorder::append_to(&fresh).unwrap();
    rec.append(&batches[2]).unwrap();
    rec.close().unwrap();
    assert_eq!(
        std::fs::read_to_string(&fresh).unwrap(),
        format!("{HEADER}\n{{\"batch\":0,\"relations\":[]}}\n")
    );
}

/// `run --record` continues an existing recording; it must not glue a batch onto a line a killed
/// run cut short, nor append to a file that is not a recording.
#[test]
fn recorder_refuses_to_continue_what_it_would_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let batches = sample();
    let cut = dir.path().join("cut.jsonl");
    let text = to_text(&batches);
    std::fs::write(&cut, &text[..text.len() - 10]).unwrap();
    let err = Recorder::append_to(&cut).err().unwrap().to_string();
    assert!(
        err.starts_with(&format!(
            "events file {}: its last line is cut short",
            cut.display()
        )),
        "{err}"
    );
    assert!(!err.contains('\n'), "{err}");

    let other = dir.path().join("notes.txt");
    std::fs::write(&other, "hello\n").unwrap();
    let err = Recorder::append_to(&other).err().unwrap().to_string();
    assert!(err.contains("not a conduit-wasm events file"), "{err}");
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "hello\n");

    // A header alone, or a hand-written first batch line with spaces, is a recording to continue.
    let header_only = dir.path().join("header.jsonl");
    std::fs::write(&header_only, format!("{HEADER}\n")).unwrap();
    assert_eq!(Recorder::append_to(&header_only).unwrap().batches(), 0);
    let spaced = dir.path().join("spaced.jsonl");
    std::fs::write(&spaced, "\n{ \"batch\": 0, \"relations\": [] }\n").unwrap();
    let mut rec = Recorder::append_to(&spaced).unwrap();
    rec.append(&batches[2]).unwrap();
    rec.close().unwrap();
    assert_eq!(read_events(&spaced).unwrap().len(), 2);
}

//! The numbers the TypeScript layer shares with the engine (event kinds,
//! delimiter kinds, `readFrame` result codes, defaults) are defined once,
//! here in pants-core. This test writes them out as TypeScript and checks
//! that `ts/contract.ts` says exactly that; after changing them, run
//! `PANTS_WRITE_CONTRACT=1 cargo test -p pants-core --test typescript_contract`.

use std::fmt::Write;
use std::path::Path;

use pants_core::http::BodyRead;
use pants_core::{DelimiterKind, EventKind, FrameRead, DEFAULT_BUFFER_SIZE, DIRECT_SEND_MIN, OUTGOING_HIGH_WATER};

/// `ts/contract.ts` as pants-core defines it.
fn contract() -> String {
    let mut out = String::new();
    out.push_str("// Generated from pants-core by crates/pants-core/tests/typescript_contract.rs: do not edit.\n");
    out.push_str("// After changing them in Rust: PANTS_WRITE_CONTRACT=1 cargo test -p pants-core --test typescript_contract\n\n");
    out.push_str("/** Event kinds (`pants_core::EventKind`), as `pollIo` / `takeEvents` report them. @internal */\n");
    out.push_str("export enum EventKind {\n");
    for kind in EventKind::ALL {
        writeln!(out, "  {kind:?} = {},", kind as i32).unwrap();
    }
    out.push_str("}\n\n");
    out.push_str("/** Delimiter kinds of `setDelimiter` (`pants_core::DelimiterKind`). @internal */\n");
    out.push_str("export const enum DelimiterKind {\n");
    for kind in DelimiterKind::ALL {
        writeln!(out, "  {kind:?} = {},", kind as u32).unwrap();
    }
    out.push_str("}\n\n");
    out.push_str("/** `readFrame` / `peekInput` results below zero (`pants_core::FrameRead::encode`). @internal */\n");
    writeln!(out, "export const FRAME_INCOMPLETE = {};", FrameRead::INCOMPLETE).unwrap();
    writeln!(out, "/** @internal */\nexport const FRAME_OVERFLOW = {};", FrameRead::OVERFLOW).unwrap();
    writeln!(
        out,
        "/** A result `r <= NEED_SPACE` means the frame needs `NEED_SPACE - r` bytes. @internal */\nexport const NEED_SPACE = {};",
        FrameRead::NEED_SPACE
    )
    .unwrap();
    writeln!(
        out,
        "/** Added to a frame's length when more bytes remain buffered (another frame may follow). @internal */\nexport const MORE_INPUT = {};",
        FrameRead::MORE_INPUT
    )
    .unwrap();
    writeln!(
        out,
        "/** `readBody`: no body of known length comes next, take frames (`pants_core::http::BodyRead::encode`). @internal */\nexport const NOT_BODY = {};",
        BodyRead::NOT_BODY
    )
    .unwrap();
    writeln!(out, "/** Added to a body piece's length when it is the body's last. @internal */\nexport const BODY_ENDED = {};", BodyRead::BODY_ENDED).unwrap();
    out.push('\n');
    writeln!(
        out,
        "/** Default `bufferSize` of streams and datagram channels, in bytes. @internal */\nexport const DEFAULT_BUFFER_SIZE = {DEFAULT_BUFFER_SIZE};"
    )
    .unwrap();
    writeln!(
        out,
        "/** Unsent bytes above which a stream stops reading until they drain. @internal */\nexport const OUTGOING_HIGH_WATER = {OUTGOING_HIGH_WATER};"
    )
    .unwrap();
    writeln!(
        out,
        "/** Writes at least this large go to the socket at once when nothing waits. @internal */\nexport const DIRECT_SEND_MIN = {DIRECT_SEND_MIN};"
    )
    .unwrap();
    out
}

#[test]
fn ts_contract_matches_pants_core() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ts/contract.ts");
    let expected = contract();
    if std::env::var_os("PANTS_WRITE_CONTRACT").is_some() {
        std::fs::write(&path, &expected).expect("write ts/contract.ts");
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "ts/contract.ts is not what pants-core defines; run PANTS_WRITE_CONTRACT=1 cargo test -p pants-core --test typescript_contract\n\n{expected}"
    );
}

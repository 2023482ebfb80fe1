//! Fuzzes the Dockerfile parser and every accessor of what it returns: nothing may panic, and
//! every span must be a valid range of the input on character boundaries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_dockerfile::{Arguments, Instruction, Span, parse, shell};

fn check(src: &str, span: Span) {
    assert!(span.start <= span.end && span.end <= src.len(), "{span:?}");
    assert!(src.is_char_boundary(span.start) && src.is_char_boundary(span.end), "{span:?}");
}

fn check_instruction(src: &str, ins: &Instruction) {
    check(src, ins.span);
    if let Arguments::Shell(text) = &ins.args {
        check(src, text.full_span());
    }
    for w in ins.words() {
        check(src, w.span);
    }
    for (k, v) in ins.key_values() {
        check(src, k.span);
        v.map(|v| check(src, v.span));
    }
    for c in ins.run_commands() {
        check(src, c.span);
        c.argv.iter().for_each(|w| check(src, w.span));
    }
    if let Some(trigger) = &ins.onbuild {
        check_instruction(src, trigger);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match parse(src) {
        Ok(df) => {
            for ins in &df.instructions {
                check_instruction(src, ins);
            }
            for stage in &df.stages {
                let _ = df.instructions_of(stage);
            }
        }
        Err(e) => check(src, e.span),
    }
    for c in shell::split_str(src, 0) {
        check(src, c.span);
    }
});

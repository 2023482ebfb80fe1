//! Shared helper for the permission rules: file modes set by `chmod` in RUN and by
//! `COPY/ADD --chmod`, and what they grant.

use moat_dockerfile::{Instruction, Kind, Word};

use crate::context::DockerfileContext;
use crate::rules::dockerfile::helpers::cmd::{basename, effective_argv};
use crate::rules::dockerfile::helpers::copy_args::{copy_args, flag_value};

/// What a mode grants, as far as the rules care.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mode {
    /// Sets the setuid bit.
    pub setuid: bool,
    /// Sets the setgid bit.
    pub setgid: bool,
    /// Sets the sticky bit.
    pub sticky: bool,
    /// Grants write permission to others.
    pub world_writable: bool,
}

/// Parses an octal (`4755`, `0777`) or symbolic (`u+s,g-w`, `a=rwx`) mode; `None` for anything
/// else. Symbolic clauses without a "who" (`+w`) are filtered by the umask and do not count as
/// granting write to others.
pub fn parse_mode(s: &str) -> Option<Mode> {
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        let v = u32::from_str_radix(s, 8).ok().filter(|v| *v <= 0o7777)?;
        return Some(Mode {
            setuid: v & 0o4000 != 0,
            setgid: v & 0o2000 != 0,
            sticky: v & 0o1000 != 0,
            world_writable: v & 0o002 != 0,
        });
    }
    let mut mode = Mode::default();
    for clause in s.split(',') {
        let who_len = clause
            .find(|c: char| !"ugoa".contains(c))
            .unwrap_or(clause.len());
        let (who, mut rest) = clause.split_at(who_len);
        if rest.is_empty() {
            return None;
        }
        let (u, g, o) = if who.is_empty() || who.contains('a') {
            (true, true, !who.is_empty())
        } else {
            (who.contains('u'), who.contains('g'), who.contains('o'))
        };
        while let Some(op) = rest.chars().next() {
            if !"+-=".contains(op) {
                return None;
            }
            let after = &rest[1..];
            let len = after
                .find(|c: char| "+-=".contains(c))
                .unwrap_or(after.len());
            let (perms, tail) = after.split_at(len);
            if !perms.chars().all(|c| "rwxXstugo".contains(c)) {
                return None;
            }
            if op != '-' {
                mode.setuid |= u && perms.contains('s');
                mode.setgid |= g && perms.contains('s');
                mode.sticky |= perms.contains('t');
                mode.world_writable |= o && perms.contains('w');
            }
            rest = tail;
        }
    }
    Some(mode)
}

/// A place where a mode is set: the mode word, the instruction, and the paths it applies to.
#[derive(Debug)]
pub struct ModeUse<'c> {
    /// The instruction (RUN, COPY or ADD).
    pub instr: &'c Instruction,
    /// The mode as written.
    pub word: &'c Word,
    /// What it grants.
    pub mode: Mode,
    /// The paths (chmod operands, or the COPY/ADD destination).
    pub targets: Vec<String>,
}

/// Every `chmod MODE FILE…` in RUN and every `COPY/ADD --chmod=MODE`, in file order.
pub fn mode_uses<'c>(ctx: &'c DockerfileContext<'_>) -> Vec<ModeUse<'c>> {
    let mut out = Vec::new();
    for (_, instr) in ctx.instructions() {
        if !matches!(instr.kind, Kind::Copy | Kind::Add) {
            continue;
        }
        if let Some(word) = flag_value(instr, "chmod")
            && let Some(mode) = parse_mode(&word.value)
        {
            let targets = copy_args(instr).dest.map(|d| d.value).into_iter().collect();
            out.push(ModeUse {
                instr,
                word,
                mode,
                targets,
            });
        }
    }
    for (instr, cmds) in ctx.runs() {
        for cmd in cmds {
            let argv = effective_argv(cmd);
            let is_find = argv.first().is_some_and(|w| basename(&w.value) == "find");
            let args = match argv.first().map(|w| basename(&w.value)) {
                Some("chmod") => argv.get(1..).unwrap_or_default(),
                Some("find") => find_exec_chmod(argv),
                _ => continue,
            };
            if let Some(mut u) = chmod_use(instr, args) {
                if is_find {
                    // `{}` stands for what find finds: name the directory searched instead
                    u.targets = argv.get(1).map(|w| w.value.clone()).into_iter().collect();
                }
                out.push(u);
            }
        }
    }
    out.sort_by_key(|u| u.word.span.start);
    out
}

/// The arguments of `chmod` run by `find … -exec chmod MODE {} +` (empty if there is none, or
/// when `find -type d` selects only directories).
fn find_exec_chmod(argv: &[Word]) -> &[Word] {
    let only_dirs = argv
        .windows(2)
        .any(|w| w[0].value == "-type" && w[1].value == "d");
    if only_dirs {
        return &[];
    }
    let Some(exec) = argv
        .iter()
        .position(|w| matches!(w.value.as_str(), "-exec" | "-execdir"))
    else {
        return &[];
    };
    let rest = argv.get(exec + 1..).unwrap_or_default();
    if rest.first().is_none_or(|w| basename(&w.value) != "chmod") {
        return &[];
    }
    let end = rest
        .iter()
        .position(|w| matches!(w.value.as_str(), ";" | "+"))
        .unwrap_or(rest.len());
    rest.get(1..end).unwrap_or_default()
}

/// The mode and files of `chmod` arguments (after the program name).
fn chmod_use<'c>(instr: &'c Instruction, args: &'c [Word]) -> Option<ModeUse<'c>> {
    let mut positional = Vec::new();
    for w in args {
        let v = w.value.as_str();
        if v.starts_with("--reference") {
            return None;
        }
        let is_option = v.starts_with("--")
            || (v.len() > 1 && v.starts_with('-') && v[1..].chars().all(|c| "Rfvc".contains(c)));
        if !is_option {
            positional.push(w);
        }
    }
    let (word, files) = positional.split_first()?;
    let mode = parse_mode(&word.value)?;
    let targets = files.iter().map(|w| w.value.clone()).collect();
    Some(ModeUse {
        instr,
        word,
        mode,
        targets,
    })
}

#[cfg(test)]
mod tests {
    use super::{Mode, mode_uses, parse_mode};
    use crate::context::{DockerfileContext, Emitter};
    use crate::rules::dockerfile::helpers::testing::lines;

    fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
        for u in mode_uses(ctx) {
            out.emit(
                &crate::rules::dockerfile::setuid_bit::SetuidBit::INFO,
                u.word.span,
                u.word.value.clone(),
            );
        }
    }

    #[test]
    fn finds_modes_in_chmod_find_and_flags() {
        let src = "FROM a\nRUN chmod -R 755 /a && sudo chmod u+s /b\nRUN find / -perm /6000 -exec chmod a-s {} +\nCOPY --chmod=600 a /a\nRUN chmod --reference=/a /b\nRUN echo chmod 777\n";
        assert_eq!(lines(check, src), [2, 2, 3, 4]);
    }

    #[test]
    fn octal_modes() {
        let m = parse_mode("4755").unwrap();
        assert!(m.setuid && !m.setgid && !m.world_writable);
        assert!(parse_mode("2755").unwrap().setgid);
        let m = parse_mode("0777").unwrap();
        assert!(m.world_writable && !m.setuid);
        assert!(parse_mode("1777").unwrap().sticky);
        assert_eq!(parse_mode("755"), Some(Mode::default()));
        assert_eq!(parse_mode("0644"), Some(Mode::default()));
        assert_eq!(parse_mode("99"), None);
        assert_eq!(parse_mode("17777"), None);
    }

    #[test]
    fn symbolic_modes() {
        assert!(parse_mode("u+s").unwrap().setuid);
        assert!(parse_mode("+s").unwrap().setuid);
        assert!(parse_mode("g+s").unwrap().setgid);
        assert!(!parse_mode("g+s").unwrap().setuid);
        assert!(!parse_mode("u-s").unwrap().setuid);
        assert!(!parse_mode("o+s").unwrap().setuid);
        assert!(parse_mode("o+w").unwrap().world_writable);
        assert!(parse_mode("a+rwx").unwrap().world_writable);
        assert!(parse_mode("u=rwx,go=rwx").unwrap().world_writable);
        assert!(!parse_mode("+w").unwrap().world_writable);
        assert!(!parse_mode("go-w").unwrap().world_writable);
        assert!(parse_mode("u+x-w+s").unwrap().setuid);
        assert_eq!(parse_mode("file.txt"), None);
        assert_eq!(parse_mode("a"), None);
        assert_eq!(parse_mode("/usr/bin/x"), None);
    }
}

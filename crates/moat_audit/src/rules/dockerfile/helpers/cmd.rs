//! Helpers for reading shell commands of `RUN` instructions: the program actually run (through
//! `sudo`, `env` and similar wrappers), its subcommand and its flags.

use moat_dockerfile::Word;
use moat_dockerfile::shell::Command;

/// Programs that run another program given as their arguments.
const WRAPPERS: &[&str] = &[
    "sudo", "env", "nice", "nohup", "time", "exec", "command", "doas", "gosu", "su-exec", "xargs",
];

/// The argv of the program actually run: wrappers and their options are skipped
/// (`sudo -E apt-get install x` → `apt-get install x`).
pub fn effective_argv(cmd: &Command) -> &[Word] {
    let mut argv = cmd.argv.as_slice();
    loop {
        let Some(first) = argv.first() else {
            return argv;
        };
        let name = basename(&first.value);
        if !WRAPPERS.contains(&name) {
            return argv;
        }
        let mut i = 1;
        while let Some(w) = argv.get(i) {
            let v = w.value.as_str();
            let takes_value = matches!(name, "sudo" | "doas")
                && matches!(
                    v,
                    "-u" | "-g" | "-C" | "-D" | "-h" | "-p" | "-r" | "-t" | "-U"
                );
            if v.starts_with('-')
                || (name == "env" && v.contains('='))
                || (name == "gosu" && i == 1)
                || (name == "su-exec" && i == 1)
            {
                i += if takes_value { 2 } else { 1 };
            } else {
                break;
            }
        }
        argv = argv.get(i..).unwrap_or(&[]);
    }
}

/// Last path component of a program name (`/usr/bin/apt-get` → `apt-get`).
pub fn basename(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}

/// Whether the command's program is one of `names`.
pub fn is_program(cmd: &Command, names: &[&str]) -> bool {
    effective_argv(cmd)
        .first()
        .is_some_and(|w| names.contains(&basename(&w.value)))
}

/// The program name, if any.
pub fn program(cmd: &Command) -> Option<&str> {
    effective_argv(cmd).first().map(|w| basename(&w.value))
}

/// The first non-flag argument after the program (the subcommand: `install` in
/// `apt-get -y install x`), with its position in the effective argv.
pub fn subcommand<'a>(argv: &'a [Word], value_flags: &[&str]) -> Option<(usize, &'a Word)> {
    let mut i = 1;
    while let Some(w) = argv.get(i) {
        if w.value.starts_with('-') {
            let takes_value = value_flags.contains(&w.value.as_str());
            i += if takes_value { 2 } else { 1 };
            continue;
        }
        return Some((i, w));
    }
    None
}

/// Whether any argument is one of the `long` flags (also as `--flag=value`) or a short-flag
/// cluster containing one of the `short` letters (`-yq` has `y`).
pub fn has_flag(args: &[Word], long: &[&str], short: &[char]) -> bool {
    args.iter().any(|w| flag_matches(&w.value, long, short))
}

/// Whether one argument is such a flag.
pub fn flag_matches(v: &str, long: &[&str], short: &[char]) -> bool {
    if v.starts_with("--") {
        let name = v.split('=').next().unwrap_or(v);
        return long.contains(&name);
    }
    if let Some(cluster) = v.strip_prefix('-') {
        if long.contains(&v) {
            return true;
        }
        return !cluster.is_empty()
            && cluster.chars().all(|c| c.is_ascii_alphanumeric())
            && cluster.chars().any(|c| short.contains(&c));
    }
    false
}

/// Positional arguments (not flags, not values of `value_flags`) after position `from`.
pub fn positionals<'a>(argv: &'a [Word], from: usize, value_flags: &[&str]) -> Vec<&'a Word> {
    let mut out = Vec::new();
    let mut i = from;
    while let Some(w) = argv.get(i) {
        let v = w.value.as_str();
        if v.starts_with('-') {
            i += if value_flags.contains(&v) { 2 } else { 1 };
            continue;
        }
        out.push(w);
        i += 1;
    }
    out
}

/// Whether the instruction mounts a cache at `target` (`RUN --mount=type=cache,target=…`).
pub fn has_cache_mount(instr: &moat_dockerfile::Instruction, target_prefix: &str) -> bool {
    instr.flags.iter().any(|f| {
        f.name.value.eq_ignore_ascii_case("mount")
            && f.value.as_ref().is_some_and(|v| {
                let v = &v.value;
                (v.contains("type=cache") || v.contains("type=tmpfs"))
                    && v.split(',').any(|kv| {
                        kv.split_once('=').is_some_and(|(k, p)| {
                            matches!(k, "target" | "dst" | "destination")
                                && p.trim_end_matches('/')
                                    .starts_with(target_prefix.trim_end_matches('/'))
                        })
                    })
            })
    })
}

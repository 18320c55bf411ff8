//! Progress: bars on stderr for long steps, hidden when stderr is not a terminal or with --quiet;
//! detail lines (e.g. each durable cache write) only in verbose mode.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use std::fmt::Write as _;

/// Terminals run escape sequences: control characters of answers and labels are shown as
/// `\u{…}` escapes instead (line breaks and tabs stay).
pub fn terminal_safe(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Where progress and messages go.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    quiet: bool,
    bars: bool,
    verbose: bool,
}

impl Progress {
    /// Bars only when stderr is a terminal and not quiet; messages unless quiet.
    pub fn new(quiet: bool) -> Self {
        Progress {
            quiet,
            bars: !quiet && std::io::stderr().is_terminal(),
            verbose: false,
        }
    }

    /// The same, with detail lines on or off (`Progress::new(quiet).with_verbose(true)`).
    pub fn with_verbose(self, verbose: bool) -> Self {
        Progress { verbose, ..self }
    }

    /// Whether detail lines are shown.
    pub fn is_verbose(&self) -> bool {
        self.verbose
    }

    /// No output at all (library use, tests).
    pub fn silent() -> Self {
        Progress {
            quiet: true,
            bars: false,
            verbose: false,
        }
    }

    /// A message line on stderr (control characters of answers and labels escaped).
    pub fn say(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", terminal_safe(msg.as_ref()));
        }
    }

    /// A detail line on stderr, shown only in verbose mode (which asked for it, so even when
    /// quiet). While a bar is drawn, print through `bar.suspend` so the bar is not torn.
    pub fn detail(&self, msg: impl AsRef<str>) {
        if self.verbose {
            eprintln!("{}", msg.as_ref());
        }
    }

    /// A message on stderr that --quiet keeps (e.g. the address a server listens on).
    pub fn always(&self, msg: impl AsRef<str>) {
        eprintln!("{}", terminal_safe(msg.as_ref()));
    }

    /// A warning on stderr, shown even with --quiet.
    pub fn warn(&self, msg: impl AsRef<str>) {
        eprintln!("codeframe: warning: {}", terminal_safe(msg.as_ref()));
    }

    /// A bar over `len` items, drawn only when bars are on.
    pub fn bar(&self, len: u64, what: &str) -> ProgressBar {
        if !self.bars {
            return ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
        }
        let bar = ProgressBar::new(len);
        let style =
            ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(what.to_string());
        bar
    }

    /// A spinner for a step without a count (e.g. clustering), drawn only when bars are on;
    /// call `finish_and_clear` when the step ends.
    pub fn spinner(&self, what: &str) -> ProgressBar {
        if !self.bars {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new_spinner();
        bar.set_message(what.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(terminal_safe("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(terminal_safe("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(terminal_safe("a\rb\u{7}"), "a\\u{d}b\\u{7}");
    }
}

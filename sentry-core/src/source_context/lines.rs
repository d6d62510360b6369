//! An inflated source file with precomputed line starts, and the context around one line.
//!
//! Lines end at `\n`; the terminator is not part of the line, and neither is the `\r` of a CRLF
//! ending, as in every other Sentry SDK (Sentry shows each context line on its own row, where a
//! trailing `\r` would only be noise). Everything else is kept byte for byte: tabs, trailing spaces,
//! a lone `\r` inside a line. Line numbers count `\n`, like rustc's.

/// One source file, split into lines once.
#[derive(Debug)]
pub(crate) struct SourceFile {
    text: String,
    /// Byte offset where each line starts; the last line ends at `text.len()`.
    line_starts: Vec<u32>,
}

/// The lines around one line of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Context {
    pub(crate) pre: Vec<String>,
    pub(crate) line: String,
    pub(crate) post: Vec<String>,
}

impl SourceFile {
    /// Splits `text` into lines (a leading byte order mark is dropped, as rustc does).
    pub(crate) fn new(mut text: String) -> Self {
        if text.starts_with('\u{feff}') {
            text.drain(..'\u{feff}'.len_utf8());
        }
        let mut line_starts = vec![0];
        // Offsets fit in u32: the build helper cannot embed files of 4 GiB.
        line_starts.extend(
            text.match_indices('\n')
                .map(|(i, _)| (i + 1) as u32)
                .filter(|&start| (start as usize) < text.len()),
        );
        if text.is_empty() {
            line_starts.clear();
        }
        SourceFile { text, line_starts }
    }

    /// Number of lines.
    pub(crate) fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// Line `index` (0-based) without its line ending.
    pub(crate) fn line(&self, index: usize) -> Option<&str> {
        let start = *self.line_starts.get(index)? as usize;
        let end = self
            .line_starts
            .get(index + 1)
            .map_or(self.text.len(), |&s| s as usize);
        let line = self.text.get(start..end)?;
        let line = line.strip_suffix('\n').unwrap_or(line);
        Some(line.strip_suffix('\r').unwrap_or(line))
    }

    /// The line `lineno` (1-based) with up to `context_lines` lines before and after, clamped at
    /// the file's edges. `None` when the file has no such line.
    pub(crate) fn context(&self, lineno: u32, context_lines: usize) -> Option<Context> {
        let index = (lineno as usize).checked_sub(1)?;
        let line = self.line(index)?.to_owned();
        let first = index.saturating_sub(context_lines);
        let last = index
            .saturating_add(context_lines)
            .min(self.line_count().saturating_sub(1));
        let collect = |range: std::ops::Range<usize>| {
            range
                .filter_map(|i| self.line(i).map(str::to_owned))
                .collect::<Vec<_>>()
        };
        Some(Context {
            pre: collect(first..index),
            line,
            post: collect(index + 1..last + 1),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.
mod tests {
    use super::*;

    fn file(text: &str) -> SourceFile {
        SourceFile::new(text.to_owned())
    }

    #[test]
    fn counts_lines_with_and_without_a_final_newline() {
        assert_eq!(file("a\nb\n").line_count(), 2);
        assert_eq!(file("a\nb").line_count(), 2);
        assert_eq!(file("a\n\n").line_count(), 2);
        assert_eq!(file("").line_count(), 0);
    }

    #[test]
    fn context_is_clamped_at_the_start_of_the_file() {
        let ctx = file("1\n2\n3\n4\n5\n").context(2, 3).unwrap();
        assert_eq!(
            (ctx.pre, ctx.line, ctx.post),
            (
                vec!["1".into()],
                "2".into(),
                vec!["3".into(), "4".into(), "5".into()]
            )
        );
    }

    #[test]
    fn context_is_clamped_at_the_end_of_the_file() {
        let ctx = file("1\n2\n3\n4\n5").context(5, 2).unwrap();
        assert_eq!(ctx.pre, ["3", "4"]);
        assert_eq!(ctx.line, "5");
        assert!(ctx.post.is_empty());
    }

    #[test]
    fn zero_context_lines_gives_only_the_line() {
        let ctx = file("1\n2\n3\n").context(2, 0).unwrap();
        assert!(ctx.pre.is_empty() && ctx.post.is_empty());
        assert_eq!(ctx.line, "2");
    }

    #[test]
    fn line_outside_the_file_has_no_context() {
        assert!(file("1\n2\n").context(3, 1).is_none());
        assert!(file("1\n2\n").context(0, 1).is_none());
    }

    #[test]
    fn crlf_endings_are_removed_and_tabs_kept() {
        let ctx = file("fn f() {\r\n\tlet x = 1;  \r\n}\r\n")
            .context(2, 1)
            .unwrap();
        assert_eq!(ctx.pre, ["fn f() {"]);
        assert_eq!(ctx.line, "\tlet x = 1;  ");
        assert_eq!(ctx.post, ["}"]);
    }

    #[test]
    fn lone_carriage_return_inside_a_line_is_kept() {
        assert_eq!(file("a\rb\n").line(0), Some("a\rb"));
    }

    #[test]
    fn byte_order_mark_is_not_part_of_the_first_line() {
        assert_eq!(file("\u{feff}fn main() {}\n").line(0), Some("fn main() {}"));
    }

    #[test]
    fn multibyte_text_is_sliced_on_line_boundaries() {
        let ctx = file("// é\n// 日本\n// ü\n").context(2, 1).unwrap();
        assert_eq!(
            (ctx.pre[0].as_str(), ctx.line.as_str(), ctx.post[0].as_str()),
            ("// é", "// 日本", "// ü")
        );
    }
}

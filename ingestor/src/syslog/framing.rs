//! Splitting a TCP byte stream into syslog messages (RFC 6587): octet-counting
//! (`<length> <message>`) or newline-delimited, detected from the first byte of the
//! connection (a digit means octet-counting; a message starts with `<`). Messages longer
//! than the limit are cut to it and the rest skipped, so one sender cannot make us buffer
//! without bound.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    OctetCounting,
    Newline,
}

/// Incremental framer for one connection.
#[derive(Debug)]
pub struct Framer {
    mode: Option<Mode>,
    max: usize,
    /// Bytes of an over-long octet-counted frame still to skip.
    skip: usize,
    /// Discarding the rest of an over-long newline-delimited line.
    skipping_line: bool,
    truncated: u64,
}

impl Framer {
    pub fn new(max_message_bytes: usize) -> Self {
        Self {
            mode: None,
            max: max_message_bytes.max(1),
            skip: 0,
            skipping_line: false,
            truncated: 0,
        }
    }

    /// Messages cut to the limit so far.
    pub fn truncated(&self) -> u64 {
        self.truncated
    }

    /// Takes every complete message out of `buf`, leaving a partial one in place.
    pub fn split(&mut self, buf: &mut Vec<u8>) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut start = 0;
        loop {
            if self.skip > 0 {
                let n = self.skip.min(buf.len() - start);
                self.skip -= n;
                start += n;
                if self.skip > 0 {
                    break;
                }
            }
            let rest = &buf[start..];
            let Some(first) = rest.iter().position(|b| !b.is_ascii_whitespace()) else {
                start = buf.len();
                break;
            };
            let mode = *self.mode.get_or_insert(if rest[first].is_ascii_digit() {
                Mode::OctetCounting
            } else {
                Mode::Newline
            });
            match mode {
                Mode::OctetCounting => {
                    let rest = &rest[first..];
                    let Some(space) = rest.iter().take(12).position(|b| *b == b' ') else {
                        if rest.len() >= 12 || rest.iter().any(|b| !b.is_ascii_digit()) {
                            // Not a length after all: treat the connection as newline-framed.
                            self.mode = Some(Mode::Newline);
                            start += first;
                            continue;
                        }
                        start += first;
                        break;
                    };
                    let Some(len) = std::str::from_utf8(&rest[..space])
                        .ok()
                        .and_then(|s| s.parse::<usize>().ok())
                    else {
                        self.mode = Some(Mode::Newline);
                        start += first;
                        continue;
                    };
                    let body = &rest[space + 1..];
                    if len > self.max {
                        if body.len() < self.max {
                            start += first;
                            break;
                        }
                        out.push(body[..self.max].to_vec());
                        self.truncated += 1;
                        self.skip = len - self.max;
                        start += first + space + 1 + self.max;
                        continue;
                    }
                    if body.len() < len {
                        start += first;
                        break;
                    }
                    out.push(body[..len].to_vec());
                    start += first + space + 1 + len;
                }
                Mode::Newline => match rest.iter().position(|b| *b == b'\n') {
                    Some(end) => {
                        if !self.skipping_line {
                            let line = trim_cr(&rest[..end]);
                            if line.len() > self.max {
                                out.push(line[..self.max].to_vec());
                                self.truncated += 1;
                            } else if !line.is_empty() {
                                out.push(line.to_vec());
                            }
                        }
                        self.skipping_line = false;
                        start += end + 1;
                    }
                    None => {
                        if self.skipping_line {
                            start = buf.len();
                        } else if rest.len() > self.max {
                            out.push(rest[..self.max].to_vec());
                            self.truncated += 1;
                            self.skipping_line = true;
                            start = buf.len();
                        }
                        break;
                    }
                },
            }
        }
        buf.drain(..start);
        out
    }

    /// At the end of the stream: a final newline-framed line without its newline.
    pub fn finish(&mut self, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
        let line = if self.mode != Some(Mode::OctetCounting) && !self.skipping_line {
            Some(trim_cr(buf).to_vec()).filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        } else {
            None
        };
        buf.clear();
        line
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(framer: &mut Framer, chunks: &[&[u8]]) -> Vec<String> {
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            out.extend(framer.split(&mut buf));
        }
        out.extend(framer.finish(&mut buf));
        out.into_iter()
            .map(|m| String::from_utf8_lossy(&m).into_owned())
            .collect()
    }

    #[test]
    fn newline_framing_across_reads_with_crlf_and_a_final_unterminated_line() {
        let mut f = Framer::new(1024);
        let got = feed(&mut f, &[b"<13>one\r\n<13>tw", b"o\n\n<13>three"]);
        assert_eq!(got, ["<13>one", "<13>two", "<13>three"]);
    }

    #[test]
    fn octet_counting_across_reads() {
        let mut f = Framer::new(1024);
        let got = feed(&mut f, &[b"11 <13>hello", b" a7 <13>bye11 <13>with\nnl"]);
        assert_eq!(got, ["<13>hello a", "<13>bye", "<13>with\nnl"]);
    }

    #[test]
    fn over_long_messages_are_cut_and_the_stream_resynchronises() {
        let mut f = Framer::new(4);
        assert_eq!(feed(&mut f, &[b"abcdefgh\nxy\n"]), ["abcd", "xy"]);
        assert_eq!(f.truncated(), 1);
        let mut f = Framer::new(4);
        assert_eq!(feed(&mut f, &[b"8 abcd", b"efgh3 xyz"]), ["abcd", "xyz"]);
        assert_eq!(f.truncated(), 1);
    }

    #[test]
    fn a_digit_that_is_not_a_length_falls_back_to_newlines() {
        let mut f = Framer::new(1024);
        assert_eq!(
            feed(&mut f, &[b"2026-01-05 plain line\nnext\n"]),
            ["2026-01-05 plain line", "next"]
        );
    }

    proptest::proptest! {
        #[test]
        fn any_stream_never_panics_and_respects_the_limit(chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 0..8)) {
            let mut f = Framer::new(16);
            let mut buf = Vec::new();
            for chunk in &chunks {
                buf.extend_from_slice(chunk);
                for message in f.split(&mut buf) {
                    proptest::prop_assert!(message.len() <= 16);
                }
            }
            let _ = f.finish(&mut buf);
        }
    }
}

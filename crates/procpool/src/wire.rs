//! The wire format: length-prefixed frames of raw `f64` bytes.
//!
//! A frame is an 8-byte length `L` followed by `L` payload bytes. Every integer is a `u64` in
//! little-endian order ("a word"). The payload is:
//!
//! ```text
//! kind  first  count                      3 words: what the frame is (see Kind)
//! per item:   n_arrays                    1 word   (tasks and results frames only)
//!   per array: ndim, dim_0 .. dim_{ndim-1}  1 + ndim words
//! data: every array's elements, row-major, item after item, as raw f64 bytes
//! ```
//!
//! Ready and stop frames have `count = 0` and nothing after the three words. An error frame has
//! `first` = the failing task, `count = 1`, then a UTF-8 message filling the rest of the payload.
//! A trace frame (only from a worker told to trace, in answer to its stop frame) has
//! `first = 0`, `count = 1`, then the worker's recorded spans (a serialized `trace::Trace`).
//!
//! The `f64` data is written straight from each array's memory and read straight into a
//! `Vec<f64>` (through `bytemuck`): no per-element conversion, the Rust counterpart of pickling a
//! NumPy buffer. Both ends are the same executable, so the native byte order of the data is
//! shared by construction.
//!
//! [`read_frame`] trusts nothing: a declared length above the limit is refused before anything
//! is allocated, every count is checked against the bytes that remain, the shapes must multiply
//! (with overflow checks) to exactly the data bytes present, and an end of stream inside a frame
//! is a [`FrameError::Truncated`]. Nothing is allocated on a peer's word alone: an array's buffer
//! grows at most 64 MiB ahead of the bytes that actually arrived.

use std::fmt;
use std::io::{self, BufRead, Read, Write};

use ndarray::{ArrayD, IxDyn};

use crate::Item;

/// Bytes of the length prefix that precedes every payload.
pub const LENGTH_BYTES: u64 = 8;
/// Bytes of one header word.
pub const WORD_BYTES: u64 = 8;
/// Bytes of a ready or stop frame: length prefix plus three words.
pub const CONTROL_FRAME_BYTES: u64 = LENGTH_BYTES + 3 * WORD_BYTES;

/// How far ahead of the bytes received a frame's data buffer may grow: 64 MiB.
const GROWTH_BYTES: usize = 64 << 20;
/// The largest capacity reserved up front from a count a peer declared.
const CAPACITY_CAP: usize = 1024;

/// What a frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Kind {
    /// Pool to worker: a chunk of tasks.
    Tasks = 1,
    /// Worker to pool: the results of a chunk, in task order.
    Results = 2,
    /// Pool to worker: exit now (the "poison pill").
    Stop = 3,
    /// Worker to pool: a task failed; carries a message.
    Error = 4,
    /// Worker to pool, once at start: the worker serves the role and reads frames.
    Ready = 5,
    /// Worker to pool, after a stop frame when tracing: what the worker recorded, as JSON.
    Trace = 6,
}

impl Kind {
    fn from_word(word: u64) -> Option<Kind> {
        Some(match word {
            1 => Kind::Tasks,
            2 => Kind::Results,
            3 => Kind::Stop,
            4 => Kind::Error,
            5 => Kind::Ready,
            6 => Kind::Trace,
            _ => return None,
        })
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Tasks => "tasks",
            Kind::Results => "results",
            Kind::Stop => "stop",
            Kind::Error => "error",
            Kind::Ready => "ready",
            Kind::Trace => "trace",
        })
    }
}

/// One decoded frame.
#[derive(Debug)]
pub enum Frame {
    /// A chunk of tasks whose indices start at `first`.
    Tasks {
        /// The index of the chunk's first task.
        first: usize,
        /// The tasks' items, in order.
        items: Vec<Item>,
    },
    /// The results of the chunk whose first task is `first`.
    Results {
        /// The index of the chunk's first task.
        first: usize,
        /// The results, in task order.
        items: Vec<Item>,
    },
    /// Exit now.
    Stop,
    /// Task `task` failed with `message`.
    Error {
        /// The failed task's index.
        task: usize,
        /// Why it failed.
        message: String,
    },
    /// The worker is up.
    Ready,
    /// What the worker recorded (a serialized `trace::Trace`).
    Trace(Vec<u8>),
}

impl Frame {
    /// The frame's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Frame::Tasks { .. } => Kind::Tasks,
            Frame::Results { .. } => Kind::Results,
            Frame::Stop => Kind::Stop,
            Frame::Error { .. } => Kind::Error,
            Frame::Ready => Kind::Ready,
            Frame::Trace(_) => Kind::Trace,
        }
    }
}

/// Why a frame could not be read.
#[derive(Debug)]
pub enum FrameError {
    /// The stream ended cleanly, before the first byte of a frame.
    Closed,
    /// The stream ended inside a frame, after `received` of `expected` bytes.
    Truncated {
        /// Bytes read before the end.
        received: u64,
        /// Bytes the frame announced.
        expected: u64,
    },
    /// The length prefix announced more than the limit; nothing was allocated.
    Oversized {
        /// Bytes the length prefix announced.
        declared: u64,
        /// The most a frame may hold.
        max: u64,
    },
    /// The payload does not follow the format.
    Malformed(String),
    /// Reading failed.
    Io(io::Error),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Closed => write!(f, "closed its stream"),
            FrameError::Truncated { received, expected } => write!(
                f,
                "sent a truncated frame (the stream ended after {received} of {expected} bytes)"
            ),
            FrameError::Oversized { declared, max } => write!(
                f,
                "announced a frame of {declared} bytes, above the limit of {max} bytes"
            ),
            FrameError::Malformed(why) => write!(f, "sent a malformed frame: {why}"),
            FrameError::Io(e) => write!(f, "could not be read: {e}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Exact bytes on the wire (length prefix included) of a tasks or results frame of `items`.
pub fn frame_bytes(items: &[Item]) -> u64 {
    LENGTH_BYTES + payload_bytes(items)
}

/// Bytes of the payload alone (what the frame limit applies to) of a tasks or results frame.
pub(crate) fn payload_bytes(items: &[Item]) -> u64 {
    let meta: u64 = items
        .iter()
        .map(|item| {
            WORD_BYTES
                + item
                    .iter()
                    .map(|a| WORD_BYTES * (1 + a.ndim() as u64))
                    .sum::<u64>()
        })
        .sum();
    let data: u64 = items.iter().flatten().map(|a| a.len() as u64 * 8).sum();
    3 * WORD_BYTES + meta + data
}

/// Writes a tasks or results frame and flushes; returns the bytes written.
///
/// The header goes out in one write, then each array's memory as it is (an array that is not
/// in standard layout is first copied into one). Wrap `w` in a `BufWriter` so that many tiny
/// arrays do not cost one system call each.
pub fn write_items<W: Write>(
    w: &mut W,
    kind: Kind,
    first: usize,
    items: &[Item],
) -> io::Result<u64> {
    let payload = payload_bytes(items);
    let mut head: Vec<u64> = vec![payload, kind as u64, first as u64, items.len() as u64];
    for item in items {
        head.push(item.len() as u64);
        for a in item {
            head.push(a.ndim() as u64);
            head.extend(a.shape().iter().map(|&d| d as u64));
        }
    }
    for word in &mut head {
        *word = word.to_le();
    }
    w.write_all(bytemuck::cast_slice(&head))?;
    for a in items.iter().flatten() {
        let a = a.as_standard_layout();
        match a.as_slice() {
            Some(data) => w.write_all(bytemuck::cast_slice(data))?,
            None => {
                let data: Vec<f64> = a.iter().copied().collect();
                w.write_all(bytemuck::cast_slice(&data))?
            }
        }
    }
    w.flush()?;
    Ok(LENGTH_BYTES + payload)
}

/// Writes a ready or stop frame and flushes; returns the bytes written.
pub fn write_control<W: Write>(w: &mut W, kind: Kind) -> io::Result<u64> {
    let words = [3 * WORD_BYTES, kind as u64, 0, 0].map(u64::to_le);
    w.write_all(bytemuck::cast_slice(&words))?;
    w.flush()?;
    Ok(CONTROL_FRAME_BYTES)
}

/// Writes an error frame for `task` and flushes; returns the bytes written.
pub fn write_error<W: Write>(w: &mut W, task: usize, message: &str) -> io::Result<u64> {
    write_bytes(w, Kind::Error, task, message.as_bytes())
}

/// Writes a trace frame carrying `recorded` (a worker's spans) and flushes; returns the bytes
/// written.
pub fn write_trace<W: Write>(w: &mut W, recorded: &[u8]) -> io::Result<u64> {
    write_bytes(w, Kind::Trace, 0, recorded)
}

/// A frame of `kind` whose payload after the three words is `bytes`.
fn write_bytes<W: Write>(w: &mut W, kind: Kind, first: usize, bytes: &[u8]) -> io::Result<u64> {
    let payload = 3 * WORD_BYTES + bytes.len() as u64;
    let words = [payload, kind as u64, first as u64, 1].map(u64::to_le);
    w.write_all(bytemuck::cast_slice(&words))?;
    w.write_all(bytes)?;
    w.flush()?;
    Ok(LENGTH_BYTES + payload)
}

/// Reads and validates one frame whose payload is at most `max` bytes; returns it with the
/// number of bytes it occupied on the wire.
pub fn read_frame<R: BufRead>(r: &mut R, max: u64) -> Result<(Frame, u64), FrameError> {
    let mut reader = FrameReader {
        r,
        received: 0,
        expected: LENGTH_BYTES,
        remaining: 0,
    };
    let mut len = [0u8; 8];
    reader.fill(&mut len)?;
    let declared = u64::from_le_bytes(len);
    if declared > max {
        return Err(FrameError::Oversized { declared, max });
    }
    reader.expected = LENGTH_BYTES + declared;
    reader.remaining = declared;
    let frame = reader.payload()?;
    Ok((frame, LENGTH_BYTES + declared))
}

struct FrameReader<'a, R> {
    r: &'a mut R,
    received: u64,
    expected: u64,
    /// Payload bytes not yet consumed.
    remaining: u64,
}

fn malformed<T>(why: String) -> Result<T, FrameError> {
    Err(FrameError::Malformed(why))
}

impl<R: Read> FrameReader<'_, R> {
    /// Fills `buf` from the stream; an end of stream is `Closed` before the first byte of the
    /// frame and `Truncated` after it.
    fn fill(&mut self, mut buf: &mut [u8]) -> Result<(), FrameError> {
        while !buf.is_empty() {
            match self.r.read(buf) {
                Ok(0) if self.received == 0 => return Err(FrameError::Closed),
                Ok(0) => {
                    return Err(FrameError::Truncated {
                        received: self.received,
                        expected: self.expected,
                    })
                }
                Ok(n) => {
                    self.received += n as u64;
                    buf = &mut buf[n..];
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(FrameError::Io(e)),
            }
        }
        Ok(())
    }

    /// Reads `len` values into `buf`, growing it only as bytes arrive (at most
    /// [`GROWTH_BYTES`] ahead of them): a frame that declares gigabytes and then stops costs
    /// what it sent, not what it declared.
    fn fill_growing<T: bytemuck::Pod>(
        &mut self,
        buf: &mut Vec<T>,
        len: usize,
    ) -> Result<(), FrameError> {
        let step = (GROWTH_BYTES / size_of::<T>()).max(1);
        while buf.len() < len {
            let start = buf.len();
            let end = start + step.min(len - start);
            buf.resize(end, T::zeroed());
            self.fill(bytemuck::cast_slice_mut(&mut buf[start..end]))?;
        }
        Ok(())
    }

    fn word(&mut self, what: &str) -> Result<u64, FrameError> {
        if self.remaining < WORD_BYTES {
            return malformed(format!("the payload ends before its {what}"));
        }
        let mut word = [0u8; 8];
        self.fill(&mut word)?;
        self.remaining -= WORD_BYTES;
        Ok(u64::from_le_bytes(word))
    }

    /// A count of things that each take at least one more word.
    fn count(&mut self, what: &str) -> Result<usize, FrameError> {
        let n = self.word(what)?;
        self.check_count(n, what)
    }

    /// Refuses a count `n` of things that each take at least one more word than remain.
    fn check_count(&self, n: u64, what: &str) -> Result<usize, FrameError> {
        if n > self.remaining / WORD_BYTES {
            return malformed(format!(
                "it declares {n} {what} but only {} bytes follow",
                self.remaining
            ));
        }
        Ok(n as usize)
    }

    fn payload(&mut self) -> Result<Frame, FrameError> {
        let kind_word = self.word("kind")?;
        let Some(kind) = Kind::from_word(kind_word) else {
            return malformed(format!("unknown kind {kind_word}"));
        };
        let first = self.word("first task index")?;
        let count = self.word("item count")?;
        let first = usize::try_from(first)
            .or_else(|_| malformed(format!("task index {first} does not fit in usize")))?;
        match kind {
            Kind::Stop | Kind::Ready => {
                if count != 0 || self.remaining != 0 {
                    return malformed(format!(
                        "a {kind} frame must be empty, this one declares {count} items and {} more bytes",
                        self.remaining
                    ));
                }
                Ok(if kind == Kind::Stop {
                    Frame::Stop
                } else {
                    Frame::Ready
                })
            }
            Kind::Error | Kind::Trace => {
                if count != 1 {
                    return malformed(format!("a {kind} frame holds 1 item, not {count}"));
                }
                let mut message = Vec::new();
                self.fill_growing(&mut message, self.remaining as usize)?;
                self.remaining = 0;
                if kind == Kind::Trace {
                    return Ok(Frame::Trace(message));
                }
                let message = String::from_utf8(message)
                    .or_else(|_| malformed("its error message is not UTF-8".to_string()))?;
                Ok(Frame::Error {
                    task: first,
                    message,
                })
            }
            Kind::Tasks | Kind::Results => {
                let items = self.items(count)?;
                Ok(if kind == Kind::Tasks {
                    Frame::Tasks { first, items }
                } else {
                    Frame::Results { first, items }
                })
            }
        }
    }

    fn items(&mut self, count: u64) -> Result<Vec<Item>, FrameError> {
        let count = self.check_count(count, "items")?;
        // Shapes first: item -> arrays -> dims, with the element count of each array.
        // Capacities from a peer's counts are capped: they grow as the words actually arrive.
        let mut shapes: Vec<Vec<(Vec<usize>, usize)>> = Vec::with_capacity(count.min(CAPACITY_CAP));
        let mut elements: u64 = 0;
        for _ in 0..count {
            let arrays = self.count("arrays")?;
            let mut item = Vec::with_capacity(arrays.min(CAPACITY_CAP));
            for _ in 0..arrays {
                let ndim = self.count("dimensions")?;
                let mut dims = Vec::with_capacity(ndim.min(CAPACITY_CAP));
                let mut len: usize = 1;
                for _ in 0..ndim {
                    let d = self.word("dimension")?;
                    let d = usize::try_from(d)
                        .or_else(|_| malformed(format!("dimension {d} does not fit in usize")))?;
                    len = match len.checked_mul(d) {
                        Some(len) => len,
                        None => return malformed("an array's shape overflows usize".to_string()),
                    };
                    dims.push(d);
                }
                elements = match elements.checked_add(len as u64) {
                    Some(e) => e,
                    None => return malformed("the element count overflows u64".to_string()),
                };
                item.push((dims, len));
            }
            shapes.push(item);
        }
        if elements.checked_mul(8) != Some(self.remaining) {
            return malformed(format!(
                "its shapes hold {elements} f64 values but {} data bytes follow",
                self.remaining
            ));
        }
        // Then the data, read straight into each array's buffer.
        let mut items = Vec::with_capacity(shapes.len());
        for item in shapes {
            let mut arrays = Vec::with_capacity(item.len());
            for (dims, len) in item {
                let mut data = Vec::new();
                self.fill_growing(&mut data, len)?;
                self.remaining -= len as u64 * 8;
                let array = ArrayD::from_shape_vec(IxDyn(&dims), data)
                    .or_else(|e| malformed(format!("bad shape {dims:?}: {e}")))?;
                arrays.push(array);
            }
            items.push(arrays);
        }
        Ok(items)
    }
}

/// Blocks until the first byte of the next frame is available (or the stream ends).
///
/// The pool calls this before [`read_frame`] so that its receive clock starts when data
/// arrives, not while the worker is still computing.
pub fn wait_for_data<R: BufRead>(r: &mut R) -> io::Result<bool> {
    loop {
        match r.fill_buf() {
            Ok(buf) => return Ok(!buf.is_empty()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr0, Array};

    fn sample() -> Vec<Item> {
        vec![
            vec![
                Array::from_shape_fn(IxDyn(&[2, 3]), |i| (i[0] * 3 + i[1]) as f64),
                arr0(7.5).into_dyn(),
            ],
            vec![],
            vec![Array::zeros(IxDyn(&[0, 4]))],
        ]
    }

    fn encode(kind: Kind, first: usize, items: &[Item]) -> Vec<u8> {
        let mut out = Vec::new();
        let n = write_items(&mut out, kind, first, items).unwrap();
        assert_eq!(n, out.len() as u64);
        out
    }

    fn decode(bytes: &[u8], max: u64) -> Result<(Frame, u64), FrameError> {
        read_frame(&mut io::Cursor::new(bytes), max)
    }

    #[test]
    fn round_trip_keeps_shapes_and_values() {
        let items = sample();
        let bytes = encode(Kind::Results, 40, &items);
        // 8 length + 3 words + item 0 (1 + (1+2) + (1+0) words) + item 1 (1) + item 2 (1 + 1+2)
        // + data (6 + 1 values).
        assert_eq!(bytes.len(), 8 + 24 + 8 * 5 + 8 + 8 * 4 + 8 * 7);
        assert_eq!(frame_bytes(&items), bytes.len() as u64);
        let (frame, n) = decode(&bytes, u64::MAX).unwrap();
        assert_eq!(n, bytes.len() as u64);
        match frame {
            Frame::Results { first, items: got } => {
                assert_eq!(first, 40);
                assert_eq!(got, items);
            }
            other => panic!("decoded {other:?}"),
        }
    }

    #[test]
    fn transposed_arrays_travel_in_logical_order() {
        let a = Array::from_shape_fn(IxDyn(&[2, 3]), |i| (i[0] * 3 + i[1]) as f64);
        let t = a.t().to_owned();
        assert!(t.as_slice().is_none());
        let bytes = encode(Kind::Tasks, 0, &[vec![t.clone()]]);
        match decode(&bytes, u64::MAX).unwrap().0 {
            Frame::Tasks { items, .. } => assert_eq!(items[0][0], t),
            other => panic!("decoded {other:?}"),
        }
    }

    #[test]
    fn control_and_error_frames_round_trip() {
        let mut out = Vec::new();
        write_control(&mut out, Kind::Stop).unwrap();
        assert_eq!(out.len() as u64, CONTROL_FRAME_BYTES);
        assert!(matches!(decode(&out, 1 << 20).unwrap().0, Frame::Stop));
        let mut out = Vec::new();
        write_error(&mut out, 9, "boom ü").unwrap();
        match decode(&out, 1 << 20).unwrap().0 {
            Frame::Error { task, message } => assert_eq!((task, message.as_str()), (9, "boom ü")),
            other => panic!("decoded {other:?}"),
        }
    }

    #[test]
    fn oversized_length_is_refused_before_reading_the_payload() {
        let bytes = (u64::MAX - 1).to_le_bytes();
        match decode(&bytes, 1 << 30) {
            Err(FrameError::Oversized { declared, max }) => {
                assert_eq!((declared, max), (u64::MAX - 1, 1 << 30))
            }
            other => panic!("got {other:?}"),
        }
    }

    #[test]
    fn every_truncation_is_reported_and_an_empty_stream_is_closed() {
        let bytes = encode(Kind::Tasks, 3, &sample());
        assert!(matches!(decode(&[], 1 << 20), Err(FrameError::Closed)));
        for cut in 1..bytes.len() {
            match decode(&bytes[..cut], 1 << 20) {
                Err(FrameError::Truncated { received, expected }) => {
                    assert_eq!(received, cut as u64);
                    let want = if cut < 8 { 8 } else { bytes.len() as u64 };
                    assert_eq!(expected, want);
                }
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
    }

    fn words(ws: &[u64]) -> Vec<u8> {
        ws.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    fn malformed_reason(bytes: &[u8]) -> String {
        match decode(bytes, 1 << 20) {
            Err(FrameError::Malformed(why)) => why,
            other => panic!("got {other:?}"),
        }
    }

    #[test]
    fn malformed_payloads_are_named() {
        assert!(malformed_reason(&words(&[24, 99, 0, 0])).contains("unknown kind 99"));
        // One item, one array of shape [2, 2] but only 3 values.
        let short = words(&[80, 2, 0, 1, 1, 2, 2, 2, 1, 2, 3]);
        assert!(malformed_reason(&short).contains("4 f64 values but 24 data bytes"));
        // A shape whose product overflows.
        let huge = words(&[56, 2, 0, 1, 1, 2, u64::MAX / 2, 4]);
        assert!(malformed_reason(&huge).contains("overflows"));
        // More items declared than bytes can hold.
        let many = words(&[8 * 3, 2, 0, 1000]);
        assert!(malformed_reason(&many).contains("1000 items"));
        // A payload shorter than its three header words.
        assert!(malformed_reason(&words(&[8, 2])).contains("ends before"));
        // A stop frame with content.
        assert!(malformed_reason(&words(&[32, 3, 0, 0, 5])).contains("must be empty"));
        // Invalid UTF-8 in an error message.
        let mut bad = words(&[26, 4, 0, 1]);
        bad.extend([0xff, 0xfe]);
        assert!(malformed_reason(&bad).contains("UTF-8"));
    }
}

//! Captures: every interface of every node is a capture point. By default a run writes one
//! merged pcapng (`all.pcapng`) with an interface block per point named `<node>:<iface>`,
//! frames in time order, directions in the EPB flags and the hop's decisions as frame
//! comments: each frame is written once. The per-point view, one classic pcap per point that
//! saw traffic (`<node>-<iface>.pcap`), is written on demand (`split`, `both`) or afterwards
//! from the merged file (`split_pcapng`, `hoplab split`), byte for byte the same. Timestamps
//! are virtual time since the start of the run, in nanoseconds.
//!
//! Memory and open files are bounded whatever the number of points: the merged file has one
//! writer; a per-point pcap collects its records in a small buffer that is appended to its
//! file when full, and at most `MAX_OPEN` point files are open at once (the others are
//! reopened to append). Every record is complete when written, so flushing on Ctrl-C leaves
//! valid files.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use pcap_file::pcap::PcapHeader;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::pcapng::{Block, PcapNgWriter};
use pcap_file::{DataLink, Endianness, TsResolution};

use crate::filter::Filter;
use crate::time::Instant;

pub mod observe;
pub use observe::{FrameEvent, Observer};

/// Snap length written in headers when none is set: frames are whole.
pub const SNAPLEN: u32 = 65535;
/// The merged file's buffer.
const BUF_BYTES: usize = 256 * 1024;
/// A point's pcap buffer: appended to its file when it holds this much.
const POINT_BUF: usize = 64 * 1024;
/// All point buffers together: past this, every point's buffer is written out and freed.
const ALL_POINT_BUFS: usize = 16 << 20;
/// Point files kept open between writes; others are closed and reopened to append.
const MAX_OPEN: usize = 64;

/// Which files a run writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaptureMode {
    None,
    /// `all.pcapng` only: each frame written once (the default).
    #[default]
    Merged,
    Split,
    Both,
}

impl CaptureMode {
    pub fn parse(s: &str) -> Option<CaptureMode> {
        match s {
            "none" => Some(CaptureMode::None),
            "merged" => Some(CaptureMode::Merged),
            "split" => Some(CaptureMode::Split),
            "both" => Some(CaptureMode::Both),
            _ => None,
        }
    }
    fn split(self) -> bool {
        matches!(self, CaptureMode::Split | CaptureMode::Both)
    }
    fn merged(self) -> bool {
        matches!(self, CaptureMode::Merged | CaptureMode::Both)
    }
}

/// Which way a frame crossed the capture point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
}

/// The name of one capture point.
#[derive(Clone, Debug)]
pub struct PointName {
    pub node: String,
    pub iface: String,
}

impl PointName {
    pub fn file_name(&self) -> String {
        format!("{}-{}.pcap", self.node, self.iface)
    }
    pub fn label(&self) -> String {
        format!("{}:{}", self.node, self.iface)
    }
}

struct Point {
    name: PointName,
    /// The point's pcap has begun (its header is in `buf` or on disk).
    started: bool,
    /// The point's file exists on disk (later writes append to it).
    on_disk: bool,
    /// Whole records (and the header, at first) not yet written to the file.
    buf: Vec<u8>,
    /// The file, while it is one of the `MAX_OPEN` kept open.
    file: Option<File>,
    /// Interface id in the merged file, once announced.
    idb: Option<u32>,
    frames: u64,
    /// Not a capture point (a bridge's side of its own interface, which the host's interface
    /// of the same name already captures).
    silent: bool,
    /// This point's own snap length (`point_snaplen:` in the lab, `--snap POINT=N`); else
    /// the capture's.
    snap: Option<u32>,
}

/// Writes the captures of one run.
pub struct Capture {
    mode: CaptureMode,
    dir: PathBuf,
    points: Vec<Point>,
    merged: Option<PcapNgWriter<Box<dyn Write>>>,
    /// Where the merged capture goes (`-`: standard output).
    merged_path: PathBuf,
    /// Flush the merged capture after each frame, so a reader sees frames as they happen
    /// (`--pcapng -` into Wireshark).
    live: bool,
    next_idb: u32,
    error: Option<CaptureFailure>,
    /// Bytes the capture files hold so far (headers, records, blocks), counted while a
    /// limit is set.
    written: u64,
    /// The most the files may hold (0: no limit); a frame that would pass it is not written
    /// and stops further writing, so every file stays whole.
    limit: u64,
    /// A frame was left out because of the limit.
    limited: bool,
    /// Bytes of each frame written (`--snap`; at most `SNAPLEN`).
    snaplen: u32,
    /// Point files open now.
    open_files: usize,
    /// Bytes held in point buffers now.
    buffered: usize,
}

/// The lab's capture expectations: display filters counting the frames at points. An
/// observer of its own, so watches see every frame, with its comment, whatever files are
/// written (`captures: none` included).
#[derive(Default)]
pub struct Watches {
    watches: Vec<Watch>,
}

impl Watches {
    /// Counts the frames at `point` that match `filter`; returns the watch's number.
    pub fn watch(&mut self, point: usize, filter: Filter) -> usize {
        self.watches.push(Watch {
            point,
            filter,
            count: 0,
            from: Instant::ZERO,
            to: Instant::MAX,
        });
        self.watches.len() - 1
    }

    /// Points a watch at `point` (a port made while the lab runs: until then the watch
    /// counts nothing).
    pub fn set_watch_point(&mut self, watch: usize, point: usize) {
        if let Some(w) = self.watches.get_mut(watch) {
            w.point = point;
        }
    }

    /// Limits a watch to the frames recorded from `from` to `to`, both included.
    pub fn watch_window(&mut self, watch: usize, from: Instant, to: Instant) {
        if let Some(w) = self.watches.get_mut(watch) {
            w.from = from;
            w.to = to;
        }
    }

    pub fn watch_count(&self, watch: usize) -> u64 {
        self.watches.get(watch).map_or(0, |w| w.count)
    }
}

impl Observer for Watches {
    fn wants_comment(&self, point: usize) -> bool {
        self.watches.iter().any(|w| w.point == point)
    }

    fn frame(&mut self, e: &FrameEvent<'_>) {
        for w in self
            .watches
            .iter_mut()
            .filter(|w| w.point == e.point && w.from <= e.at && e.at <= w.to)
        {
            if w.filter.matches(e.frame, e.comment) {
                w.count += 1;
            }
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

/// A display filter counting the frames at one point that match it.
struct Watch {
    point: usize,
    filter: Filter,
    count: u64,
    /// Frames recorded from `from` to `to` (both included) count: the whole run by
    /// default, or a time window or one step's (`during:`), which the runner sets.
    from: Instant,
    to: Instant,
}

/// A capture file written by a run.
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct WrittenFile {
    pub path: PathBuf,
    /// `node:iface` for a per-point pcap, `all` for the merged pcapng.
    pub point: String,
    pub frames: u64,
    /// False for the file a write error cut short (see `RunReport::capture_failure`).
    pub complete: bool,
}

/// The first capture write error of a run: which file, when, and why. Captures stop there.
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct CaptureFailure {
    pub path: PathBuf,
    /// Virtual time of the frame that could not be written (none when a final flush failed).
    pub at_seconds: Option<f64>,
    pub error: String,
}

impl Capture {
    /// Prepares `dir` (created if missing; stale `*.pcap`/`all.pcapng` removed so the folder
    /// holds exactly this run's files).
    pub fn create(mode: CaptureMode, dir: &Path) -> io::Result<Capture> {
        Capture::create_with(mode, dir, None)
    }

    /// As `create`, with the merged pcapng written to `merged_to` instead of
    /// `dir/all.pcapng`, whatever `mode` says of it (`-`: standard output, flushed after each
    /// frame); `mode` still decides the per-point files.
    pub fn create_with(
        mode: CaptureMode,
        dir: &Path,
        merged_to: Option<&Path>,
    ) -> io::Result<Capture> {
        if mode != CaptureMode::None {
            std::fs::create_dir_all(dir)?;
            for entry in std::fs::read_dir(dir)? {
                let path = entry?.path();
                let stale = path.extension().is_some_and(|e| e == "pcap")
                    || path.file_name().is_some_and(|n| n == "all.pcapng");
                if stale {
                    std::fs::remove_file(&path)?;
                }
            }
        }
        let live = merged_to.is_some_and(|p| p == Path::new("-"));
        let merged_path = merged_to.map_or_else(|| dir.join("all.pcapng"), Path::to_path_buf);
        let merged = if mode.merged() || merged_to.is_some() {
            let file: Box<dyn Write> = match live {
                true => Box::new(BufWriter::with_capacity(BUF_BYTES, io::stdout())),
                false => Box::new(Background::new(File::create(&merged_path)?)?),
            };
            let section = SectionHeaderBlock {
                endianness: Endianness::Little,
                major_version: 1,
                minor_version: 0,
                section_length: -1,
                options: vec![SectionHeaderOption::UserApplication(Cow::Borrowed(
                    "hoplab (virtual time)",
                ))],
            };
            // The section header counts toward the limit like every block after it.
            let header =
                PcapNgWriter::with_section_header(Vec::new(), section.clone()).map_err(to_io)?;
            let header_len = header.get_ref().len() as u64;
            Some((
                PcapNgWriter::with_section_header(file, section).map_err(to_io)?,
                header_len,
            ))
        } else {
            None
        };
        let (merged, written) = match merged {
            Some((m, n)) => (Some(m), n),
            None => (None, 0),
        };
        Ok(Capture {
            mode,
            dir: dir.to_path_buf(),
            points: Vec::new(),
            merged,
            merged_path,
            live,
            next_idb: 0,
            error: None,
            written,
            limit: 0,
            limited: false,
            snaplen: SNAPLEN,
            open_files: 0,
            buffered: 0,
        })
    }

    pub fn enabled(&self) -> bool {
        (self.mode != CaptureMode::None || self.merged.is_some()) && self.error.is_none()
    }

    /// Whether a comment recorded at `point` is read: the merged file stores comments; the
    /// per-point pcaps have no room for them.
    pub fn wants_comment(&self, point: usize) -> bool {
        if self.points.get(point).is_some_and(|p| p.silent) {
            return false;
        }
        self.merged.is_some() && self.error.is_none()
    }

    /// Declares capture point `index` (points are the engine's global port numbers).
    pub fn declare(&mut self, index: usize, name: PointName) {
        if self.points.len() <= index {
            self.points.resize_with(index + 1, || Point {
                name: PointName {
                    node: String::new(),
                    iface: String::new(),
                },
                started: false,
                on_disk: false,
                buf: Vec::new(),
                file: None,
                idb: None,
                frames: 0,
                silent: false,
                snap: None,
            });
        }
        self.points[index].name = name;
    }

    /// Makes a declared point record nothing.
    pub fn silence(&mut self, index: usize) {
        if let Some(p) = self.points.get_mut(index) {
            p.silent = true;
        }
    }

    /// Bounds the bytes the capture files may hold (`--max-capture-bytes`; 0: no bound).
    pub fn set_limit(&mut self, bytes: u64) {
        self.limit = bytes;
    }

    /// Writes at most `bytes` of each frame (tcpdump's `-s`; 0 or more than 65535: whole
    /// frames). The headers declare it and each record keeps the frame's length; watches still
    /// see whole frames. Set before the first frame.
    pub fn set_snaplen(&mut self, bytes: u32) {
        self.snaplen = if bytes == 0 {
            SNAPLEN
        } else {
            bytes.min(SNAPLEN)
        };
    }

    /// Writes at most `bytes` of each frame at one point (0: whole frames), whatever the
    /// capture's snap length: its pcap header and its pcapng interface block say so.
    pub fn set_point_snaplen(&mut self, index: usize, bytes: u32) {
        if let Some(p) = self.points.get_mut(index) {
            p.snap = Some(if bytes == 0 {
                SNAPLEN
            } else {
                bytes.min(SNAPLEN)
            });
        }
    }

    /// The snap length of point `index`.
    fn snap_of(&self, index: usize) -> u32 {
        self.points
            .get(index)
            .and_then(|p| p.snap)
            .unwrap_or(self.snaplen)
    }

    /// Bytes written to the capture files so far, while a limit is set.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// The limit, once a frame was left out because of it.
    pub fn limit_reached(&self) -> Option<u64> {
        self.limited.then_some(self.limit)
    }

    /// What writing a frame adds to the files: a pcap record (and the file's header, the
    /// first time) and a pcapng block (and the interface's, the first time).
    fn cost(&self, index: usize, len: usize, comment: Option<&str>) -> u64 {
        let pad = |n: usize| n.div_ceil(4) * 4;
        let point = &self.points[index];
        let mut n = 0;
        if self.mode.split() {
            n += 16 + len + if point.started { 0 } else { 24 };
        }
        if self.merged.is_some() {
            // EPB: header and trailer, the data, the flags option, the end of options.
            n += 32 + pad(len) + 8 + 4 + comment.map_or(0, |c| 4 + pad(c.len()));
            if point.idb.is_none() {
                n += 20 + 4 + pad(point.name.label().len()) + 8 + 4;
            }
        }
        n as u64
    }

    /// Records one frame at a point. An IO error stops the capture and is reported by `finish`.
    pub fn record(
        &mut self,
        index: usize,
        at: Instant,
        dir: Direction,
        data: &[u8],
        comment: Option<&str>,
    ) {
        if self.points.get(index).is_some_and(|p| p.silent) {
            return;
        }
        if (self.mode == CaptureMode::None && self.merged.is_none())
            || self.error.is_some()
            || self.limited
        {
            return;
        }
        let orig = data.len();
        let data = &data[..orig.min(self.snap_of(index) as usize)];
        if self.limit != 0 {
            let cost = self.cost(index, data.len(), comment);
            if self.written + cost > self.limit {
                self.limited = true;
                return;
            }
            self.written += cost;
        }
        let ts = std::time::Duration::from_nanos(at.nanos());
        self.points[index].frames += 1;
        if self.mode.split()
            && let Err(e) = self.write_point(index, ts, data, orig)
        {
            let path = self.dir.join(self.points[index].name.file_name());
            self.fail(path, at, e);
            return;
        }
        if self.merged.is_some()
            && let Err(e) = self.write_merged(index, ts, dir, (data, orig), comment)
        {
            if self.live && e.kind() == io::ErrorKind::BrokenPipe {
                // The reader of `--pcapng -` has gone (Wireshark closed, `| head`): the
                // stream ends there, as a Unix tool's output does, and the run goes on.
                self.merged = None;
                return;
            }
            self.fail(self.merged_path.clone(), at, e);
        }
    }

    /// Stops every capture at the first write error: from then on no file is written, so a
    /// file is never missing frames from its middle. `finish` reports the error.
    fn fail(&mut self, path: PathBuf, at: Instant, error: io::Error) {
        self.error = Some(CaptureFailure {
            path,
            at_seconds: Some(at.since_start().as_secs_f64()),
            error: error.to_string(),
        });
    }

    /// Adds a record to the point's buffer (its file header first), and writes the buffer
    /// out when it is full or when all buffers together hold too much.
    fn write_point(
        &mut self,
        index: usize,
        ts: std::time::Duration,
        data: &[u8],
        orig: usize,
    ) -> io::Result<()> {
        let snaplen = self.snap_of(index);
        let point = &mut self.points[index];
        let before = point.buf.len();
        if !point.started {
            point.started = true;
            pcap_header(snaplen)
                .write_to(&mut point.buf)
                .map_err(to_io)?;
        }
        write_record(&mut point.buf, ts, data, orig)?;
        let full = point.buf.len() >= POINT_BUF;
        self.buffered += point.buf.len() - before;
        if full {
            self.flush_point(index)?;
        }
        if self.buffered >= ALL_POINT_BUFS {
            for i in 0..self.points.len() {
                if !self.points[i].buf.is_empty() {
                    self.flush_point(i)?;
                }
            }
        }
        Ok(())
    }

    /// Writes a point's buffered records to its file (created the first time, appended to
    /// after), keeping the file open if fewer than `MAX_OPEN` are.
    fn flush_point(&mut self, index: usize) -> io::Result<()> {
        let point = &mut self.points[index];
        let mut file = match point.file.take() {
            Some(f) => f,
            None => {
                let path = self.dir.join(point.name.file_name());
                let f = match point.on_disk {
                    true => std::fs::OpenOptions::new().append(true).open(path)?,
                    false => File::create(path)?,
                };
                point.on_disk = true;
                self.open_files += 1;
                f
            }
        };
        self.buffered -= point.buf.len();
        let result = file.write_all(&point.buf);
        if self.open_files <= MAX_OPEN {
            point.buf.clear();
            point.file = Some(file);
        } else {
            // Closed until its next flush, and its buffer freed: an idle point costs nothing.
            point.buf = Vec::new();
            self.open_files -= 1;
        }
        result
    }

    fn write_merged(
        &mut self,
        index: usize,
        ts: std::time::Duration,
        dir: Direction,
        (data, orig): (&[u8], usize),
        comment: Option<&str>,
    ) -> io::Result<()> {
        let snaplen = self.snap_of(index);
        let point = &mut self.points[index];
        if let Some(merged) = self.merged.as_mut() {
            let idb = match point.idb {
                Some(id) => id,
                None => {
                    let id = self.next_idb;
                    self.next_idb += 1;
                    point.idb = Some(id);
                    let block = InterfaceDescriptionBlock {
                        linktype: DataLink::ETHERNET,
                        snaplen,
                        options: vec![
                            InterfaceDescriptionOption::IfName(Cow::Owned(point.name.label())),
                            InterfaceDescriptionOption::IfTsResol(9),
                        ],
                    };
                    merged
                        .write_block(&Block::InterfaceDescription(block))
                        .map_err(to_io)?;
                    id
                }
            };
            // EPB flags bits 0-1: 1 inbound, 2 outbound.
            let flags = match dir {
                Direction::In => 1,
                Direction::Out => 2,
            };
            write_epb(merged.get_mut(), idb, ts, (data, orig), flags, comment)?;
            if self.live {
                merged.get_mut().flush()?;
            }
        }
        Ok(())
    }

    /// Flushes and closes every file (also the way out on Ctrl-C: every record is whole, so the
    /// files are valid wherever the run stopped), and lists what was written (point files in
    /// name order, then `all.pcapng`), with the first write error if there was one: the file it
    /// names is cut short, and every other file ends where the captures stopped.
    pub fn finish(&mut self) -> (Vec<WrittenFile>, Option<CaptureFailure>) {
        let mut failure = self.error.take();
        let mut files = Vec::new();
        for i in 0..self.points.len() {
            if !self.points[i].started {
                continue;
            }
            let path = self.dir.join(self.points[i].name.file_name());
            // After a write error nothing more is written, so files end where captures stopped.
            let flushed = match failure.is_none() && !self.points[i].buf.is_empty() {
                true => self.flush_point(i),
                false => Ok(()),
            };
            if let Err(e) = flushed {
                failure = Some(CaptureFailure {
                    path: path.clone(),
                    at_seconds: None,
                    error: e.to_string(),
                });
            }
            let p = &mut self.points[i];
            if p.file.take().is_some() {
                self.open_files -= 1;
            }
            p.buf = Vec::new();
            files.push(WrittenFile {
                path,
                point: p.name.label(),
                frames: p.frames,
                complete: true,
            });
        }
        if let Some(m) = self.merged.as_mut()
            && let Err(e) = m.get_mut().flush()
            && failure.is_none()
        {
            failure = Some(CaptureFailure {
                path: self.merged_path.clone(),
                at_seconds: None,
                error: e.to_string(),
            });
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        if self.merged.is_some() {
            files.push(WrittenFile {
                path: self.merged_path.clone(),
                point: "all".into(),
                frames: self.points.iter().map(|p| p.frames).sum(),
                complete: true,
            });
        }
        if let Some(f) = &failure {
            for w in files.iter_mut().filter(|w| w.path == f.path) {
                w.complete = false;
            }
        }
        (files, failure)
    }
}

/// The capture files take every frame the engine reports.
impl Observer for Capture {
    fn wants_comment(&self, point: usize) -> bool {
        Capture::wants_comment(self, point)
    }

    fn point(&mut self, index: usize, name: &PointName, silent: bool) {
        self.declare(index, name.clone());
        if silent {
            self.silence(index);
        }
    }

    fn frame(&mut self, e: &FrameEvent<'_>) {
        self.record(e.point, e.at, e.dir, e.frame, e.comment);
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

/// Writes the per-point pcaps of a merged capture (`all.pcapng`) into `dir`, created if
/// missing: the files `--capture both` writes next to it, byte for byte, one per interface
/// block (`node:iface` → `node-iface.pcap`). Files of other points already in `dir` are left
/// alone. Bad input (not a pcapng, an interface without a `node:iface` name) is an error,
/// as is a write error; the files written so far are whole.
pub fn split_pcapng(src: &Path, dir: &Path) -> Result<Vec<WrittenFile>, String> {
    use pcap_file::pcapng::PcapNgReader;
    let shown = src.display();
    let file = File::open(src).map_err(|e| format!("{shown}: {e}"))?;
    let mut reader = PcapNgReader::new(io::BufReader::with_capacity(BUF_BYTES, file))
        .map_err(|e| format!("{shown}: not a pcapng file ({e})"))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut cap = Capture::create(CaptureMode::None, dir).map_err(|e| e.to_string())?;
    cap.mode = CaptureMode::Split;
    // The point of each interface block of the current section, and of each name.
    let mut section: Vec<usize> = Vec::new();
    let mut by_name: std::collections::HashMap<String, usize> = Default::default();
    let mut failed = None;
    while let Some(block) = reader.next_block() {
        let block = match block {
            Ok(b) => b,
            Err(e) => {
                // Cut short: the frames before the cut are written, then the error reported.
                failed = Some(format!("{shown}: {e}"));
                break;
            }
        };
        match block {
            Block::SectionHeader(_) => section.clear(),
            Block::InterfaceDescription(idb) => {
                let label = idb.options.iter().find_map(|o| match o {
                    InterfaceDescriptionOption::IfName(n) => Some(n.to_string()),
                    _ => None,
                });
                let Some(name) = label.as_deref().and_then(point_name) else {
                    failed = Some(format!(
                        "{shown}: interface {} is not named node:iface, as hoplab names them",
                        section.len()
                    ));
                    break;
                };
                let next = cap.points.len();
                let index = *by_name.entry(name.label()).or_insert(next);
                if index == next {
                    cap.declare(index, name);
                }
                cap.points[index].snap = Some(idb.snaplen);
                section.push(index);
            }
            Block::EnhancedPacket(epb) => {
                let Some(&index) = section.get(epb.interface_id as usize) else {
                    failed = Some(format!(
                        "{shown}: a packet of interface {}, which has no interface block",
                        epb.interface_id
                    ));
                    break;
                };
                cap.points[index].frames += 1;
                let orig = (epb.original_len as usize).max(epb.data.len());
                if let Err(e) = cap.write_point(index, epb.timestamp, &epb.data, orig) {
                    let path = dir.join(cap.points[index].name.file_name());
                    failed = Some(format!("{}: {e}", path.display()));
                    break;
                }
            }
            _ => {}
        }
    }
    let (files, failure) = cap.finish();
    match failed.or(failure.map(|f| format!("{}: {}", f.path.display(), f.error))) {
        Some(e) => Err(e),
        None => Ok(files),
    }
}

/// A file written by a thread of its own: the caller fills 1 MiB buffers and hands them over,
/// so the kernel's copy into the file (most of a captured run's cost on tmpfs) runs on
/// another core while the simulation goes on. At most `BUFFERS` buffers exist; when all are
/// in flight the caller waits. Only bytes cross the thread: the file's content is what a
/// plain write would have made. `flush` waits for every buffer handed over and reports the
/// first write error; an error is also reported by the next hand-over after it.
struct Background {
    buf: Vec<u8>,
    spare: Vec<Vec<u8>>,
    /// Buffers made so far (at most `BUFFERS`).
    made: usize,
    in_flight: usize,
    to_writer: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    back: std::sync::mpsc::Receiver<Vec<u8>>,
    error: std::sync::Arc<std::sync::Mutex<Option<io::Error>>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

const CHUNK: usize = 1 << 20;
const BUFFERS: usize = 4;

impl Background {
    fn new(mut file: File) -> io::Result<Background> {
        let (to_writer, from_caller) = std::sync::mpsc::sync_channel::<Vec<u8>>(BUFFERS);
        let (to_caller, back) = std::sync::mpsc::channel();
        let error = std::sync::Arc::new(std::sync::Mutex::new(None));
        let errors = error.clone();
        let writer = std::thread::Builder::new()
            .name("hoplab-capture".into())
            .spawn(move || {
                let mut failed = false;
                for mut b in from_caller {
                    if !failed && let Err(e) = file.write_all(&b) {
                        failed = true;
                        if let Ok(mut slot) = errors.lock() {
                            *slot = Some(e);
                        }
                    }
                    b.clear();
                    if to_caller.send(b).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Background {
            buf: Vec::with_capacity(CHUNK),
            spare: Vec::new(),
            made: 1,
            in_flight: 0,
            to_writer: Some(to_writer),
            back,
            error,
            writer: Some(writer),
        })
    }

    fn check(&self) -> io::Result<()> {
        match self.error.lock().ok().and_then(|mut e| e.take()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn gone() -> io::Error {
        io::Error::other("the capture writer thread ended")
    }

    fn hand_over(&mut self) -> io::Result<()> {
        self.check()?;
        let next = match self.spare.pop() {
            Some(b) => b,
            None => match self.back.try_recv() {
                Ok(b) => {
                    self.in_flight -= 1;
                    b
                }
                Err(_) if self.made < BUFFERS => {
                    self.made += 1;
                    Vec::with_capacity(CHUNK)
                }
                Err(_) => {
                    let b = self.back.recv().map_err(|_| Self::gone())?;
                    self.in_flight -= 1;
                    b
                }
            },
        };
        let full = std::mem::replace(&mut self.buf, next);
        let tx = self.to_writer.as_ref().ok_or_else(Self::gone)?;
        tx.send(full).map_err(|_| Self::gone())?;
        self.in_flight += 1;
        Ok(())
    }
}

impl Write for Background {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if !self.buf.is_empty() && self.buf.len() + data.len() > CHUNK {
            self.hand_over()?;
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.write(data).map(|_| ())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.hand_over()?;
        }
        while self.in_flight > 0 {
            let b = self.back.recv().map_err(|_| Self::gone())?;
            self.in_flight -= 1;
            self.spare.push(b);
        }
        self.check()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.flush();
        self.to_writer = None;
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

/// `node:iface` as a point whose file name stays in its folder.
fn point_name(label: &str) -> Option<PointName> {
    let (node, iface) = label.split_once(':')?;
    let fine = |s: &str| !s.is_empty() && !s.contains(['/', '\\', '\0']) && s != "." && s != "..";
    (fine(node) && fine(iface)).then(|| PointName {
        node: node.to_string(),
        iface: iface.to_string(),
    })
}

/// A point pcap's file header: little-endian, nanosecond timestamps, Ethernet.
fn pcap_header(snaplen: u32) -> PcapHeader {
    PcapHeader {
        version_major: 2,
        version_minor: 4,
        ts_correction: 0,
        ts_accuracy: 0,
        snaplen,
        datalink: DataLink::ETHERNET,
        ts_resolution: TsResolution::NanoSecond,
        endianness: Endianness::Little,
    }
}

/// One pcapng enhanced packet block, little-endian, with the flags option and an optional
/// comment: the bytes `pcap_file`'s `PcapNgWriter::write_block` writes, without its second
/// pass to measure the block or a `Vec` of options (it is the per-frame cost of a capture).
fn write_epb(
    w: &mut impl Write,
    interface: u32,
    ts: std::time::Duration,
    (data, orig): (&[u8], usize),
    flags: u32,
    comment: Option<&str>,
) -> io::Result<()> {
    let pad = |n: usize| (4 - n % 4) % 4;
    let comment_len = comment.map_or(0, |c| 4 + c.len() + pad(c.len()));
    let total = 32 + data.len() + pad(data.len()) + 8 + comment_len + 4;
    let nanos = ts.as_nanos() as u64;
    let mut head = [0u8; 28];
    head[0..4].copy_from_slice(&6u32.to_le_bytes());
    head[4..8].copy_from_slice(&(total as u32).to_le_bytes());
    head[8..12].copy_from_slice(&interface.to_le_bytes());
    head[12..16].copy_from_slice(&((nanos >> 32) as u32).to_le_bytes());
    head[16..20].copy_from_slice(&(nanos as u32).to_le_bytes());
    head[20..24].copy_from_slice(&(data.len() as u32).to_le_bytes());
    head[24..28].copy_from_slice(&(orig as u32).to_le_bytes());
    w.write_all(&head)?;
    w.write_all(data)?;
    let mut tail = [0u8; 3 + 8 + 4];
    let p = pad(data.len());
    // Flags: code 2, length 4.
    tail[p..p + 2].copy_from_slice(&2u16.to_le_bytes());
    tail[p + 2..p + 4].copy_from_slice(&4u16.to_le_bytes());
    tail[p + 4..p + 8].copy_from_slice(&flags.to_le_bytes());
    w.write_all(&tail[..p + 8])?;
    if let Some(c) = comment {
        let mut h = [0u8; 4];
        h[0..2].copy_from_slice(&1u16.to_le_bytes());
        h[2..4].copy_from_slice(&(c.len() as u16).to_le_bytes());
        w.write_all(&h)?;
        w.write_all(c.as_bytes())?;
        w.write_all(&[0u8; 3][..pad(c.len())])?;
    }
    // End of options, then the block's length again.
    let mut end = [0u8; 8];
    end[4..8].copy_from_slice(&(total as u32).to_le_bytes());
    w.write_all(&end)
}

/// One classic pcap record, little-endian with nanosecond timestamps, as the file header
/// declares: the bytes `pcap_file`'s `PcapWriter::write_packet` writes, in two writes instead
/// of five (it is the per-frame cost of a capture). `data` is what was kept of a frame of
/// `orig` bytes.
fn write_record(
    w: &mut impl Write,
    ts: std::time::Duration,
    data: &[u8],
    orig: usize,
) -> io::Result<()> {
    let invalid = |what| io::Error::other(pcap_file::PcapError::InvalidField(what).to_string());
    let secs = u32::try_from(ts.as_secs())
        .map_err(|_| invalid("PcapPacket: timestamp_secs > u32::MAX"))?;
    let len = u32::try_from(data.len())
        .ok()
        .filter(|&l| l <= SNAPLEN)
        .ok_or_else(|| invalid("PcapPacket: incl_len > snap_len"))?;
    let mut head = [0u8; 16];
    head[0..4].copy_from_slice(&secs.to_le_bytes());
    head[4..8].copy_from_slice(&ts.subsec_nanos().to_le_bytes());
    head[8..12].copy_from_slice(&len.to_le_bytes());
    head[12..16].copy_from_slice(&(orig as u32).to_le_bytes());
    w.write_all(&head)?;
    w.write_all(data)
}

fn to_io(e: pcap_file::PcapError) -> io::Error {
    match e {
        pcap_file::PcapError::IoError(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_file::pcap::{PcapPacket, PcapWriter};
    use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};

    #[test]
    fn records_are_the_bytes_pcap_file_writes() {
        let header = PcapHeader {
            ts_resolution: TsResolution::NanoSecond,
            endianness: Endianness::Little,
            snaplen: SNAPLEN,
            ..PcapHeader::default()
        };
        let frames: [(u64, &[u8]); 3] = [(0, &[1, 2, 3]), (1_500_000_123, &[7; 60]), (9, &[])];
        let mut theirs = PcapWriter::with_header(Vec::new(), header).unwrap();
        let mut ours = Vec::new();
        header.write_to(&mut ours).unwrap();
        for (ns, data) in frames {
            let ts = std::time::Duration::from_nanos(ns);
            let pkt = PcapPacket::new(ts, data.len() as u32, data);
            theirs.write_packet(&pkt).unwrap();
            write_record(&mut ours, ts, data, data.len()).unwrap();
        }
        assert_eq!(ours, theirs.into_writer());
        let too_long = vec![0u8; SNAPLEN as usize + 1];
        assert!(write_record(&mut ours, std::time::Duration::ZERO, &too_long, 70_000).is_err());
    }

    #[test]
    fn packet_blocks_are_the_bytes_pcap_file_writes() {
        use pcap_file::pcapng::PcapNgWriter;
        let idb = InterfaceDescriptionBlock {
            linktype: DataLink::ETHERNET,
            snaplen: SNAPLEN,
            options: vec![],
        };
        let cases: [(&[u8], usize, u32, Option<&str>); 5] = [
            (&[1, 2, 3], 3, 1, None),
            (&[7; 60], 60, 2, Some("id=4")),
            (&[9; 61], 1500, 1, Some("id=5; dropped: link loss")),
            (&[], 0, 2, Some("")),
            (&[5; 62], 62, 1, Some("abc")),
        ];
        for (i, (data, orig, flags, comment)) in cases.into_iter().enumerate() {
            let ts = std::time::Duration::from_nanos(5_000_000_123 * i as u64);
            let mut theirs = PcapNgWriter::new(Vec::new()).unwrap();
            theirs
                .write_block(&Block::InterfaceDescription(idb.clone()))
                .unwrap();
            let start = theirs.get_ref().len();
            let mut options = vec![EnhancedPacketOption::Flags(flags)];
            if let Some(c) = comment {
                options.push(EnhancedPacketOption::Comment(Cow::Borrowed(c)));
            }
            let epb = EnhancedPacketBlock {
                interface_id: 0,
                timestamp: ts,
                original_len: orig as u32,
                data: Cow::Borrowed(data),
                options,
            };
            theirs.write_block(&Block::EnhancedPacket(epb)).unwrap();
            let mut ours = Vec::new();
            write_epb(&mut ours, 0, ts, (data, orig), flags, comment).unwrap();
            assert_eq!(ours, theirs.get_ref()[start..], "case {i}");
        }
    }

    fn frame(n: u8, len: usize) -> Vec<u8> {
        let mut f = vec![n; len];
        f[0] = 2;
        f
    }

    /// Records the same frames at three points, with a tiny snap length.
    fn run(mode: CaptureMode, dir: &Path, snap: u32) -> Vec<WrittenFile> {
        let mut c = Capture::create(mode, dir).unwrap();
        c.set_snaplen(snap);
        for (i, (node, iface)) in [("a", "eth0"), ("br0", "veth1"), ("b", "eth0")]
            .into_iter()
            .enumerate()
        {
            c.declare(
                i,
                PointName {
                    node: node.into(),
                    iface: iface.into(),
                },
            );
        }
        for k in 0..200u64 {
            let at = Instant::ZERO + crate::time::Duration::from_nanos(k * 1_000_123);
            let point = (k % 3) as usize;
            let dir = if k % 2 == 0 {
                Direction::In
            } else {
                Direction::Out
            };
            let comment = (k % 5 == 0).then_some("id=7");
            c.record(
                point,
                at,
                dir,
                &frame(k as u8, 60 + k as usize * 7),
                comment,
            );
        }
        let (files, failure) = c.finish();
        assert!(failure.is_none());
        files
    }

    #[test]
    fn split_gives_the_per_point_files_byte_for_byte() {
        for snap in [0, 64] {
            let both = tempfile::tempdir().unwrap();
            let merged = tempfile::tempdir().unwrap();
            let written = run(CaptureMode::Both, both.path(), snap);
            assert_eq!(written.len(), 4);
            let only = run(CaptureMode::Merged, merged.path(), snap);
            assert_eq!(only.len(), 1, "the default writes each frame once");
            assert_eq!(
                std::fs::read(both.path().join("all.pcapng")).unwrap(),
                std::fs::read(merged.path().join("all.pcapng")).unwrap()
            );
            let out = merged.path().join("split");
            let files = split_pcapng(&merged.path().join("all.pcapng"), &out).unwrap();
            assert_eq!(files.len(), 3);
            for f in &written[..3] {
                let name = f.path.file_name().unwrap();
                assert_eq!(
                    std::fs::read(&f.path).unwrap(),
                    std::fs::read(out.join(name)).unwrap(),
                    "{name:?}"
                );
            }
            let frames: u64 = files.iter().map(|f| f.frames).sum();
            assert_eq!(frames, 200);
        }
    }

    #[test]
    fn snaplen_keeps_the_frame_length() {
        let dir = tempfile::tempdir().unwrap();
        run(CaptureMode::Split, dir.path(), 64);
        // (pcap_file's reader refuses a record longer than the snap length; Wireshark and
        // tcpdump take it, as libpcap writes it.)
        let bytes = std::fs::read(dir.path().join("b-eth0.pcap")).unwrap();
        let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
        assert_eq!(u32_at(16), 64, "the header's snap length");
        assert_eq!(u32_at(24 + 8), 64, "the bytes kept");
        assert_eq!(u32_at(24 + 12), 60 + 2 * 7, "the frame's length");
        assert_eq!(bytes.len(), 24 + (16 + 64) * 66);
    }

    #[test]
    fn many_points_keep_few_files_open() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Capture::create(CaptureMode::Split, dir.path()).unwrap();
        let n = 3 * MAX_OPEN;
        for i in 0..n {
            c.declare(
                i,
                PointName {
                    node: format!("h{i}"),
                    iface: "eth0".into(),
                },
            );
        }
        // Enough per point to flush each several times.
        for k in 0..(n * 60) {
            let at = Instant::ZERO + crate::time::Duration::from_nanos(k as u64);
            c.record(k % n, at, Direction::In, &[3u8; 1500], None);
            assert!(c.open_files <= MAX_OPEN);
        }
        let (files, failure) = c.finish();
        assert!(failure.is_none());
        assert_eq!(c.open_files, 0);
        assert_eq!(files.len(), n);
        for f in files {
            let mut r = pcap_file::pcap::PcapReader::new(File::open(&f.path).unwrap()).unwrap();
            let mut count = 0;
            while let Some(p) = r.next_packet() {
                p.unwrap();
                count += 1;
            }
            assert_eq!(count, 60);
        }
    }

    #[test]
    fn the_background_writer_writes_what_it_is_given_and_reports_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        let mut expected = Vec::new();
        {
            let mut w = Background::new(File::create(&path).unwrap()).unwrap();
            for i in 0..20_000u32 {
                let chunk = vec![(i % 251) as u8; (i % 700) as usize];
                w.write_all(&chunk).unwrap();
                expected.extend_from_slice(&chunk);
            }
            w.flush().unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), expected);
            w.write_all(b"tail").unwrap();
            expected.extend_from_slice(b"tail");
        }
        assert_eq!(std::fs::read(&path).unwrap(), expected, "dropping flushes");
        if let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") {
            let mut w = Background::new(full).unwrap();
            w.write_all(&[0; 10]).unwrap();
            let e = w.flush().unwrap_err();
            assert_eq!(e.raw_os_error(), Some(28), "{e}");
        }
    }

    #[test]
    fn split_refuses_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.pcapng");
        std::fs::write(&bad, b"not a capture at all").unwrap();
        assert!(split_pcapng(&bad, dir.path()).is_err());
        // A file cut short: an error, and the frames before the cut in whole files.
        let whole = tempfile::tempdir().unwrap();
        run(CaptureMode::Merged, whole.path(), 0);
        let all = std::fs::read(whole.path().join("all.pcapng")).unwrap();
        let cut = dir.path().join("cut.pcapng");
        std::fs::write(&cut, &all[..all.len() / 2 + 3]).unwrap();
        let out = dir.path().join("cut");
        let e = split_pcapng(&cut, &out).unwrap_err();
        assert!(e.contains("cut.pcapng"), "{e}");
        let bytes = std::fs::read(out.join("a-eth0.pcap")).unwrap();
        assert!(bytes.len() > 24);
        assert!(split_pcapng(&dir.path().join("missing"), dir.path()).is_err());
        assert!(point_name("../x:eth0").is_none());
        assert!(point_name("x").is_none());
        assert!(point_name("c1:eth0").is_some());
    }
}

//! Captures: every interface of every node is a capture point. A run writes one classic pcap
//! per point that saw traffic (`<node>-<iface>.pcap`, opened on its first frame so idle points
//! cost nothing) and one merged pcapng (`all.pcapng`) with an interface block per point named
//! `<node>:<iface>`, frames in time order, directions in the EPB flags and the hop's decisions
//! as frame comments. Timestamps are virtual time since the start of the run, in nanoseconds.
//!
//! Writes go through `BufWriter`s; every record is complete when written, so flushing on
//! Ctrl-C leaves valid files.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use pcap_file::pcap::PcapHeader;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::pcapng::{Block, PcapNgWriter};
use pcap_file::{DataLink, Endianness, TsResolution};

use crate::filter::Filter;
use crate::time::Instant;

/// Snap length written in headers; frames are never truncated.
const SNAPLEN: u32 = 65535;
const BUF_BYTES: usize = 256 * 1024;

/// Which files a run writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaptureMode {
    None,
    Merged,
    Split,
    #[default]
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
    /// The point's pcap, past its file header (records are written by `write_record`).
    pcap: Option<BufWriter<File>>,
    /// Interface id in the merged file, once announced.
    idb: Option<u32>,
    frames: u64,
    /// Not a capture point (a bridge's side of its own interface, which the host's interface
    /// of the same name already captures).
    silent: bool,
}

/// Writes the captures of one run.
pub struct Capture {
    mode: CaptureMode,
    dir: PathBuf,
    points: Vec<Point>,
    merged: Option<PcapNgWriter<BufWriter<Box<dyn Write>>>>,
    /// Where the merged capture goes (`-`: standard output).
    merged_path: PathBuf,
    /// Flush the merged capture after each frame, so a reader sees frames as they happen
    /// (`--pcapng -` into Wireshark).
    live: bool,
    next_idb: u32,
    error: Option<CaptureFailure>,
    watches: Vec<Watch>,
    /// Bytes the capture files hold so far (headers, records, blocks), counted while a
    /// limit is set.
    written: u64,
    /// The most the files may hold (0: no limit); a frame that would pass it is not written
    /// and stops further writing, so every file stays whole.
    limit: u64,
    /// A frame was left out because of the limit.
    limited: bool,
}

/// A display filter counting the frames recorded at one point (a lab's capture expectation).
/// Watches see every frame, with its comment, whatever files are written.
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
            let sink: Box<dyn Write> = match live {
                true => Box::new(io::stdout()),
                false => Box::new(File::create(&merged_path)?),
            };
            let file = BufWriter::with_capacity(BUF_BYTES, sink);
            let section = SectionHeaderBlock {
                endianness: Endianness::Little,
                major_version: 1,
                minor_version: 0,
                section_length: -1,
                options: vec![SectionHeaderOption::UserApplication(Cow::Borrowed(
                    "hoplab (virtual time)",
                ))],
            };
            Some(PcapNgWriter::with_section_header(file, section).map_err(to_io)?)
        } else {
            None
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
            watches: Vec::new(),
            written: 0,
            limit: 0,
            limited: false,
        })
    }

    pub fn enabled(&self) -> bool {
        ((self.mode != CaptureMode::None || self.merged.is_some()) && self.error.is_none())
            || !self.watches.is_empty()
    }

    /// Whether a comment recorded at `point` is read by anything: the merged file stores
    /// comments and a watch's filter may test them; the per-point pcaps have no room for them.
    pub fn wants_comment(&self, point: usize) -> bool {
        if self.points.get(point).is_some_and(|p| p.silent) {
            return false;
        }
        (self.merged.is_some() && self.error.is_none())
            || self.watches.iter().any(|w| w.point == point)
    }

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

    /// Declares capture point `index` (points are the engine's global port numbers).
    pub fn declare(&mut self, index: usize, name: PointName) {
        if self.points.len() <= index {
            self.points.resize_with(index + 1, || Point {
                name: PointName {
                    node: String::new(),
                    iface: String::new(),
                },
                pcap: None,
                idb: None,
                frames: 0,
                silent: false,
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
            n += 16 + len + if point.pcap.is_none() { 24 } else { 0 };
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
        for w in self
            .watches
            .iter_mut()
            .filter(|w| w.point == index && w.from <= at && at <= w.to)
        {
            if w.filter.matches(data, comment) {
                w.count += 1;
            }
        }
        if (self.mode == CaptureMode::None && self.merged.is_none())
            || self.error.is_some()
            || self.limited
        {
            return;
        }
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
            && let Err(e) = self.write_point(index, ts, data)
        {
            let path = self.dir.join(self.points[index].name.file_name());
            self.fail(path, at, e);
            return;
        }
        if self.merged.is_some()
            && let Err(e) = self.write_merged(index, ts, dir, data, comment)
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

    fn write_point(
        &mut self,
        index: usize,
        ts: std::time::Duration,
        data: &[u8],
    ) -> io::Result<()> {
        let point = &mut self.points[index];
        {
            if point.pcap.is_none() {
                let file = File::create(self.dir.join(point.name.file_name()))?;
                let header = PcapHeader {
                    version_major: 2,
                    version_minor: 4,
                    ts_correction: 0,
                    ts_accuracy: 0,
                    snaplen: SNAPLEN,
                    datalink: DataLink::ETHERNET,
                    ts_resolution: TsResolution::NanoSecond,
                    endianness: Endianness::Little,
                };
                let mut w = BufWriter::with_capacity(BUF_BYTES, file);
                header.write_to(&mut w).map_err(to_io)?;
                point.pcap = Some(w);
            }
            if let Some(w) = point.pcap.as_mut() {
                write_record(w, ts, data)?;
            }
        }
        Ok(())
    }

    fn write_merged(
        &mut self,
        index: usize,
        ts: std::time::Duration,
        dir: Direction,
        data: &[u8],
        comment: Option<&str>,
    ) -> io::Result<()> {
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
                        snaplen: SNAPLEN,
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
            let mut options = vec![EnhancedPacketOption::Flags(flags)];
            if let Some(c) = comment {
                options.push(EnhancedPacketOption::Comment(Cow::Borrowed(c)));
            }
            let epb = EnhancedPacketBlock {
                interface_id: idb,
                timestamp: ts,
                original_len: data.len() as u32,
                data: Cow::Borrowed(data),
                options,
            };
            merged
                .write_block(&Block::EnhancedPacket(epb))
                .map_err(to_io)?;
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
        for p in &mut self.points {
            if let Some(mut w) = p.pcap.take() {
                let path = self.dir.join(p.name.file_name());
                if let Err(e) = w.flush()
                    && failure.is_none()
                {
                    failure = Some(CaptureFailure {
                        path: path.clone(),
                        at_seconds: None,
                        error: e.to_string(),
                    });
                }
                files.push(WrittenFile {
                    path,
                    point: p.name.label(),
                    frames: p.frames,
                    complete: true,
                });
            }
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

/// One classic pcap record, little-endian with nanosecond timestamps, as the file header
/// declares: the bytes `pcap_file`'s `PcapWriter::write_packet` writes, in two writes instead
/// of five (it is the per-frame cost of a capture).
fn write_record(w: &mut impl Write, ts: std::time::Duration, data: &[u8]) -> io::Result<()> {
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
    head[12..16].copy_from_slice(&len.to_le_bytes());
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
            write_record(&mut ours, ts, data).unwrap();
        }
        assert_eq!(ours, theirs.into_writer());
        let too_long = vec![0u8; SNAPLEN as usize + 1];
        assert!(write_record(&mut ours, std::time::Duration::ZERO, &too_long).is_err());
    }
}

//! A TAP's file descriptor: frames in and out, non-blocking, for mio.
//!
//! Our own thin wrapper over tun-tap's `Iface` rather than smoltcp's `TunTapInterface`, which
//! panics when it transmits while the TAP's link is down: here a write the kernel refuses is
//! a dropped frame, as on a cable with nobody at the other end.

use std::io;
use std::os::fd::{AsRawFd, RawFd};

/// Why a TAP could not be opened, worded for the person running the lab.
pub fn open_error(name: &str, e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => format!(
            "cannot open TAP {name}: {e}. Creating or attaching a TAP needs CAP_NET_ADMIN: run hoplab with sudo, or give the binary the capability once with `sudo setcap cap_net_admin+ep $(command -v hoplab)`"
        ),
        Some(libc::EBUSY) => format!(
            "TAP {name} is already in use by another process (another hoplab?): choose another name, or stop the other program"
        ),
        Some(libc::EINVAL) => format!(
            "{name} exists and is not a TAP device (a TUN device, or a TAP with other flags): hoplab only plugs into TAP devices"
        ),
        Some(libc::ENOENT) | Some(libc::ENODEV) => format!(
            "cannot open TAP {name}: /dev/net/tun is missing ({e}); load the tun module (`modprobe tun`) or run where /dev/net/tun exists"
        ),
        _ => format!("cannot open TAP {name}: {e}"),
    }
}

pub struct TapDevice {
    iface: tun_tap::Iface,
}

impl TapDevice {
    /// Creates the TAP `name` in the calling thread's network namespace (or attaches to the
    /// persistent one of that name), without packet information, non-blocking. A TAP made
    /// here is not persistent: the kernel removes it when the descriptor closes.
    pub fn open(name: &str) -> Result<TapDevice, String> {
        let iface = tun_tap::Iface::without_packet_info(name, tun_tap::Mode::Tap)
            .map_err(|e| open_error(name, &e))?;
        iface
            .set_non_blocking()
            .map_err(|e| format!("TAP {name}: cannot make it non-blocking: {e}"))?;
        Ok(TapDevice { iface })
    }

    pub fn name(&self) -> &str {
        self.iface.name()
    }

    /// Reads one frame; `WouldBlock` when none is waiting.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.iface.recv(buf)
    }

    /// Writes one frame.
    pub fn send(&self, frame: &[u8]) -> io::Result<usize> {
        self.iface.send(frame)
    }
}

impl AsRawFd for TapDevice {
    fn as_raw_fd(&self) -> RawFd {
        self.iface.as_raw_fd()
    }
}

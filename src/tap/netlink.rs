//! A small synchronous rtnetlink client, IPv4 only: the kernel side of the lab's TAPs.
//!
//! The lab configures the kernel end of its TAPs (link state, MTU, MAC, addresses, routes)
//! in-process over rtnetlink rather than by spawning `ip`: no dependency on iproute2 being
//! installed or on its output format, errors that carry the kernel's errno (and its extended
//! ack message, when it gives one), and a socket that stays in the network namespace it was
//! opened in, whichever thread uses it later (see [`super::netns`]).
//!
//! Only what the lab needs: one request at a time, answered before the next is sent, so a
//! blocking socket with a receive timeout is enough and no async runtime is pulled in.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;
use std::time::Duration;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_CREATE, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_EXCL,
    NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NetlinkBuffer, NetlinkHeader, NetlinkMessage,
    NetlinkPayload, NlasIterator,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressScope};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkInfo as NlLinkInfo, LinkMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteProtocol, RouteScope,
    RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

/// The main routing table, the one `ip route` shows and changes by default.
pub const RT_TABLE_MAIN: u32 = 254;

/// How long to wait for each reply datagram: the kernel answers rtnetlink requests at once,
/// so silence this long means something is wrong, and an error beats a hung lab.
const RECV_TIMEOUT: Duration = Duration::from_secs(10);

/// Bounds on the receive loops, so a misbehaving peer cannot keep us looping forever. A dump
/// of a full Internet routing table is a few thousand datagrams.
const MAX_DATAGRAMS: usize = 1 << 20;
const MAX_EINTR_RETRIES: usize = 100;

/// A dump the kernel flags as interrupted (the table changed under it) is retried this many
/// times, as a consistent snapshot is what callers compare against.
const DUMP_ATTEMPTS: usize = 5;

/// IFLA_IFNAME is at most IFNAMSIZ - 1 bytes; longer names are rejected before asking.
const IFNAMSIZ: usize = 16;

/// NLMSGERR_ATTR_MSG: the human-readable reason in an extended ack.
const NLMSGERR_ATTR_MSG: u16 = 1;

/// A NETLINK_ROUTE socket and the sequence numbers of its requests.
pub struct Rtnl {
    socket: Socket,
    seq: u32,
}

/// One network interface, as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: u32,
    pub name: String,
    /// IFLA_INFO_KIND: "tun" for a TUN/TAP, "veth", "bridge"...; None for a plain NIC or `lo`.
    pub kind: Option<String>,
    /// IFF_UP: administratively up (not whether the carrier is).
    pub up: bool,
    pub mtu: u32,
    pub mac: Option<[u8; 6]>,
}

/// An IPv4 unicast route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteV4 {
    pub dst: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Option<Ipv4Addr>,
    pub oif: Option<u32>,
    /// [`RT_TABLE_MAIN`] (254) for the main table.
    pub table: u32,
}

/// The kernel's refusal with the reason it gave in an extended ack. Kept as a typed source so
/// the errno stays recoverable (see [`errno`]) even though the message is added to it.
#[derive(Debug)]
struct KernelError {
    errno: i32,
    message: String,
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            io::Error::from_raw_os_error(self.errno),
            self.message
        )
    }
}

impl std::error::Error for KernelError {}

/// The errno behind an error from the kernel, with or without an extended-ack message.
fn errno(e: &io::Error) -> Option<i32> {
    e.raw_os_error().or_else(|| {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<KernelError>())
            .map(|k| k.errno)
    })
}

fn context(e: io::Error, what: impl fmt::Display) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn check_prefix(prefix: u8) -> io::Result<()> {
    if prefix > 32 {
        return Err(invalid(format!("IPv4 prefix length {prefix} is over 32")));
    }
    Ok(())
}

/// The replies to one request, in order.
struct Reply {
    messages: Vec<RouteNetlinkMessage>,
    /// NLM_F_DUMP_INTR was set on some part: the dump may be inconsistent.
    interrupted: bool,
}

impl Rtnl {
    /// A socket in the network namespace of the calling thread.
    pub fn open() -> io::Result<Rtnl> {
        let mut socket =
            Socket::new(NETLINK_ROUTE).map_err(|e| context(e, "opening a NETLINK_ROUTE socket"))?;
        socket
            .bind_auto()
            .map_err(|e| context(e, "binding the rtnetlink socket"))?;
        // Connected to the kernel (port 0), so nothing another process sends can reach us.
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(|e| context(e, "connecting the rtnetlink socket"))?;
        // Extended acks say why a request was refused; capped acks keep error replies small.
        // Both are optional (older kernels), so failing to enable them is not an error.
        let _ = socket.set_ext_ack(true);
        let _ = socket.set_cap_ack(true);
        let timeout = libc::timeval {
            tv_sec: RECV_TIMEOUT.as_secs() as libc::time_t,
            tv_usec: 0,
        };
        // SAFETY: the fd is a socket owned by `socket`, alive for this call; the option value
        // points to a timeval that lives across the call, and its size is the one passed.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&raw const timeout).cast(),
                size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(context(
                io::Error::last_os_error(),
                "setting the rtnetlink receive timeout",
            ));
        }
        Ok(Rtnl { socket, seq: 0 })
    }

    /// The interface called `name`, or None when there is none (ENODEV).
    pub fn link_by_name(&mut self, name: &str) -> io::Result<Option<LinkInfo>> {
        if name.is_empty() || name.len() >= IFNAMSIZ || name.contains(['\0', '/']) {
            return Err(invalid(format!("{name:?} is not a valid interface name")));
        }
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        let reply = match self.exchange(RouteNetlinkMessage::GetLink(msg), 0) {
            Ok(reply) => reply,
            Err(e) if errno(&e) == Some(libc::ENODEV) => return Ok(None),
            Err(e) => return Err(context(e, format_args!("looking up interface {name}"))),
        };
        Ok(reply.messages.into_iter().find_map(|m| match m {
            RouteNetlinkMessage::NewLink(link) => Some(link_info(link)),
            _ => None,
        }))
    }

    /// Every interface of the namespace.
    pub fn links(&mut self) -> io::Result<Vec<LinkInfo>> {
        let msgs = self
            .dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))
            .map_err(|e| context(e, "listing interfaces"))?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(link) => Some(link_info(link)),
                _ => None,
            })
            .collect())
    }

    /// Sets what is given; None leaves it.
    pub fn set_link(
        &mut self,
        index: u32,
        up: Option<bool>,
        mtu: Option<u32>,
        mac: Option<[u8; 6]>,
    ) -> io::Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        if let Some(up) = up {
            // Only the flags in the change mask are touched; the others keep their values.
            msg.header.change_mask = LinkFlags::Up;
            if up {
                msg.header.flags = LinkFlags::Up;
            }
        }
        if let Some(mtu) = mtu {
            msg.attributes.push(LinkAttribute::Mtu(mtu));
        }
        if let Some(mac) = mac {
            msg.attributes.push(LinkAttribute::Address(mac.to_vec()));
        }
        self.exchange(RouteNetlinkMessage::SetLink(msg), 0)
            .map(drop)
            .map_err(|e| {
                let mut what = format!("setting ifindex {index}:");
                if let Some(up) = up {
                    what.push_str(if up { " up" } else { " down" });
                }
                if let Some(mtu) = mtu {
                    what.push_str(&format!(" mtu {mtu}"));
                }
                if let Some(m) = mac {
                    what.push_str(&format!(
                        " address {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                        m[0], m[1], m[2], m[3], m[4], m[5]
                    ));
                }
                context(e, what)
            })
    }

    /// Adds `addr/prefix` to the interface as `ip addr add A/P brd + dev X` does: local and
    /// peer address both `addr`, the subnet's broadcast address for prefixes up to /30, host
    /// scope for 127/8 and universe scope otherwise. An address already there is an error
    /// (AlreadyExists).
    pub fn add_address(&mut self, index: u32, addr: Ipv4Addr, prefix: u8) -> io::Result<()> {
        check_prefix(prefix)?;
        let mut msg = address_message(index, addr, prefix);
        msg.header.scope = if addr.is_loopback() {
            AddressScope::Host
        } else {
            AddressScope::Universe
        };
        // As iproute2: /31 and /32 have no broadcast address.
        if prefix <= 30 {
            let host_bits = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
            let brd = Ipv4Addr::from(u32::from(addr) | host_bits);
            msg.attributes.push(AddressAttribute::Broadcast(brd));
        }
        self.exchange(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(drop)
        .map_err(|e| context(e, format_args!("adding {addr}/{prefix} to ifindex {index}")))
    }

    /// Removes `addr/prefix` from the interface.
    pub fn del_address(&mut self, index: u32, addr: Ipv4Addr, prefix: u8) -> io::Result<()> {
        check_prefix(prefix)?;
        let msg = address_message(index, addr, prefix);
        self.exchange(RouteNetlinkMessage::DelAddress(msg), 0)
            .map(drop)
            .map_err(|e| {
                context(
                    e,
                    format_args!("removing {addr}/{prefix} from ifindex {index}"),
                )
            })
    }

    /// Adds a unicast route as `ip route add` does: protocol boot, universe scope through a
    /// gateway and link scope without one. A route already there is an error (AlreadyExists).
    pub fn add_route(&mut self, route: &RouteV4) -> io::Result<()> {
        check_prefix(route.prefix)?;
        let mut msg = route_message(route);
        msg.header.protocol = RouteProtocol::Boot;
        msg.header.kind = RouteType::Unicast;
        msg.header.scope = if route.gateway.is_some() {
            RouteScope::Universe
        } else {
            RouteScope::Link
        };
        self.exchange(
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(drop)
        .map_err(|e| context(e, format_args!("adding route {}", describe_route(route))))
    }

    /// Removes a route. As `ip route del`, protocol, scope and type are left unspecified so
    /// they match whatever the route was added with.
    pub fn del_route(&mut self, route: &RouteV4) -> io::Result<()> {
        check_prefix(route.prefix)?;
        let mut msg = route_message(route);
        msg.header.scope = RouteScope::NoWhere;
        self.exchange(RouteNetlinkMessage::DelRoute(msg), 0)
            .map(drop)
            .map_err(|e| context(e, format_args!("removing route {}", describe_route(route))))
    }

    /// The IPv4 routes of the main table (what `ip route` lists), including the connected
    /// prefixes the kernel added for addresses (proto kernel, scope link). Only unicast routes:
    /// [`RouteV4`] cannot tell a blackhole or unreachable route from a plain one. A multipath
    /// route appears with its first next hop.
    pub fn routes_v4(&mut self) -> io::Result<Vec<RouteV4>> {
        let mut request = RouteMessage::default();
        request.header.address_family = AddressFamily::Inet;
        let msgs = self
            .dump(RouteNetlinkMessage::GetRoute(request))
            .map_err(|e| context(e, "listing IPv4 routes"))?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewRoute(route) => route_v4(route),
                _ => None,
            })
            .filter(|r| r.table == RT_TABLE_MAIN)
            .collect())
    }

    // -----------------------------------------------------------------------------------
    // The exchange

    /// A dump, retried while the kernel flags it as interrupted.
    fn dump(&mut self, msg: RouteNetlinkMessage) -> io::Result<Vec<RouteNetlinkMessage>> {
        for _ in 0..DUMP_ATTEMPTS {
            let reply = self.exchange(msg.clone(), NLM_F_DUMP)?;
            if !reply.interrupted {
                return Ok(reply.messages);
            }
        }
        Err(io::Error::other(format!(
            "the dump was interrupted {DUMP_ATTEMPTS} times in a row (the table kept changing)"
        )))
    }

    /// Sends one request and collects its replies: the parts of a dump until NLMSG_DONE, or
    /// for any other request whatever precedes the ACK asked for with NLM_F_ACK. Messages of
    /// other sequence numbers (left over from a request abandoned on an error) are skipped.
    fn exchange(&mut self, msg: RouteNetlinkMessage, flags: u16) -> io::Result<Reply> {
        self.seq = self.seq.wrapping_add(1).max(1);
        let seq = self.seq;
        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags | if dump { 0 } else { NLM_F_ACK };
        header.sequence_number = seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        packet.finalize();
        let mut buf = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut buf);
        self.send(&buf)?;

        let mut reply = Reply {
            messages: Vec::new(),
            interrupted: false,
        };
        // A part that cannot be decoded does not end the exchange: the rest is still read so
        // the socket stays in step, and the first such error is returned at the end.
        let mut undecodable: Option<io::Error> = None;
        for _ in 0..MAX_DATAGRAMS {
            let datagram = self.recv()?;
            let mut offset = 0;
            while offset < datagram.len() {
                let Ok(part) = NetlinkBuffer::new_checked(&datagram[offset..]) else {
                    // A truncated or corrupt header: nothing after it can be framed.
                    undecodable.get_or_insert_with(|| {
                        io::Error::new(io::ErrorKind::InvalidData, "malformed netlink message")
                    });
                    break;
                };
                let len = part.length() as usize;
                let (part_seq, part_type, part_flags) =
                    (part.sequence_number(), part.message_type(), part.flags());
                let bytes = &datagram[offset..offset + len];
                offset = offset.saturating_add((len + 3) & !3);
                if part_seq != seq {
                    continue;
                }
                if part_flags & NLM_F_DUMP_INTR != 0 {
                    reply.interrupted = true;
                }
                match NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes) {
                    Ok(message) => match message.payload {
                        NetlinkPayload::InnerMessage(inner) => reply.messages.push(inner),
                        NetlinkPayload::Done(done) => {
                            if done.code < 0 {
                                return Err(io::Error::from_raw_os_error(errno_of_code(done.code)));
                            }
                            return undecodable.map_or(Ok(reply), Err);
                        }
                        NetlinkPayload::Error(err) => {
                            if let Some(code) = err.code {
                                return Err(kernel_error(code.get(), part_flags, &err.header));
                            }
                            return undecodable.map_or(Ok(reply), Err);
                        }
                        NetlinkPayload::Overrun(_) => {
                            return Err(io::Error::other("netlink overrun: replies were lost"));
                        }
                        _ => {}
                    },
                    Err(e) => {
                        if part_type == NLMSG_DONE || part_type == NLMSG_ERROR {
                            return Err(io::Error::new(
                                io::ErrorKind::InvalidData,
                                format!("undecodable end of the kernel's reply: {e}"),
                            ));
                        }
                        undecodable.get_or_insert_with(|| {
                            io::Error::new(
                                io::ErrorKind::InvalidData,
                                format!("undecodable rtnetlink message (type {part_type}): {e}"),
                            )
                        });
                    }
                }
            }
        }
        Err(io::Error::other("no end to the kernel's reply"))
    }

    fn send(&self, buf: &[u8]) -> io::Result<()> {
        for _ in 0..MAX_EINTR_RETRIES {
            match self.socket.send(buf, 0) {
                Ok(n) if n == buf.len() => return Ok(()),
                Ok(n) => {
                    return Err(io::Error::other(format!(
                        "short netlink send: {n} of {} bytes",
                        buf.len()
                    )));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(context(e, "sending to rtnetlink")),
            }
        }
        Err(io::Error::from(io::ErrorKind::Interrupted))
    }

    /// One whole datagram, however large: its size is peeked first (MSG_TRUNC reports the
    /// real length) so a big dump part is never cut.
    fn recv(&self) -> io::Result<Vec<u8>> {
        let timed_out = || {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no reply from rtnetlink within {}s", RECV_TIMEOUT.as_secs()),
            )
        };
        for _ in 0..MAX_EINTR_RETRIES {
            let mut probe: Vec<u8> = Vec::new();
            let len = match self
                .socket
                .recv(&mut probe, libc::MSG_PEEK | libc::MSG_TRUNC)
            {
                Ok(len) => len,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(timed_out()),
                Err(e) => return Err(context(e, "receiving from rtnetlink")),
            };
            let mut buf: Vec<u8> = Vec::with_capacity(len.max(1));
            match self.socket.recv(&mut buf, 0) {
                Ok(n) if n <= buf.len() => return Ok(buf),
                Ok(n) => {
                    return Err(io::Error::other(format!(
                        "rtnetlink datagram truncated: {n} bytes, {} read",
                        buf.len()
                    )));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(timed_out()),
                Err(e) => return Err(context(e, "receiving from rtnetlink")),
            }
        }
        Err(io::Error::from(io::ErrorKind::Interrupted))
    }
}

/// The errno in a NACK's or NLMSG_DONE's code, which the kernel sends negated.
fn errno_of_code(code: i32) -> i32 {
    i32::try_from(code.unsigned_abs()).unwrap_or(i32::MAX)
}

/// The error for a NACK: the errno, with the kernel's reason when it gave one. `payload` is
/// what follows the error code: the request's header (only the header, as acks are capped)
/// or the whole request, then the extended-ack attributes when NLM_F_ACK_TLVS says so.
fn kernel_error(code: i32, flags: u16, payload: &[u8]) -> io::Error {
    let errno = errno_of_code(code);
    let os = io::Error::from_raw_os_error(errno);
    if flags & NLM_F_ACK_TLVS == 0 {
        return os;
    }
    let request_len = if flags & NLM_F_CAPPED != 0 {
        16
    } else {
        payload
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .map_or(payload.len(), |b| u32::from_ne_bytes(b) as usize)
    };
    let Some(tlvs) = payload.get(request_len.saturating_add(3) & !3..) else {
        return os;
    };
    let message = NlasIterator::new(tlvs)
        .map_while(Result::ok)
        .find(|nla| nla.kind() & 0x3fff == NLMSGERR_ATTR_MSG)
        .map(|nla| {
            let value = nla.value();
            let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
            String::from_utf8_lossy(&value[..end]).trim().to_string()
        });
    match message {
        Some(message) if !message.is_empty() => {
            io::Error::new(os.kind(), KernelError { errno, message })
        }
        _ => os,
    }
}

fn link_info(link: LinkMessage) -> LinkInfo {
    let mut info = LinkInfo {
        index: link.header.index,
        name: String::new(),
        kind: None,
        up: link.header.flags.contains(LinkFlags::Up),
        mtu: 0,
        mac: None,
    };
    for attr in link.attributes {
        match attr {
            LinkAttribute::IfName(name) => info.name = name,
            LinkAttribute::Mtu(mtu) => info.mtu = mtu,
            LinkAttribute::Address(bytes) => info.mac = bytes.try_into().ok(),
            LinkAttribute::LinkInfo(infos) => {
                info.kind = infos.into_iter().find_map(|i| match i {
                    NlLinkInfo::Kind(kind) => Some(kind.to_string()),
                    _ => None,
                });
            }
            _ => {}
        }
    }
    info
}

/// The message that names one address, for adding or removing it.
fn address_message(index: u32, addr: Ipv4Addr, prefix: u8) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet;
    msg.header.prefix_len = prefix;
    msg.header.index = index;
    msg.attributes
        .push(AddressAttribute::Local(IpAddr::V4(addr)));
    msg.attributes
        .push(AddressAttribute::Address(IpAddr::V4(addr)));
    msg
}

/// The message that names one route, for adding or removing it.
fn route_message(route: &RouteV4) -> RouteMessage {
    let mut msg = RouteMessage::default();
    msg.header.address_family = AddressFamily::Inet;
    msg.header.destination_prefix_length = route.prefix;
    // The header's table is one byte; larger ids go in RTA_TABLE, as iproute2 does.
    match u8::try_from(route.table) {
        Ok(table) => msg.header.table = table,
        Err(_) => {
            msg.header.table = RouteHeader::RT_TABLE_UNSPEC;
            msg.attributes.push(RouteAttribute::Table(route.table));
        }
    }
    msg.attributes
        .push(RouteAttribute::Destination(RouteAddress::Inet(route.dst)));
    if let Some(gateway) = route.gateway {
        msg.attributes
            .push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
    }
    if let Some(oif) = route.oif {
        msg.attributes.push(RouteAttribute::Oif(oif));
    }
    msg
}

fn describe_route(route: &RouteV4) -> String {
    let mut s = format!("{}/{}", route.dst, route.prefix);
    if let Some(gateway) = route.gateway {
        s.push_str(&format!(" via {gateway}"));
    }
    if let Some(oif) = route.oif {
        s.push_str(&format!(" dev ifindex {oif}"));
    }
    if route.table != RT_TABLE_MAIN {
        s.push_str(&format!(" table {}", route.table));
    }
    s
}

/// A unicast IPv4 route from a dump, or None for anything else (other families and types,
/// and cached clones, which are not configuration).
fn route_v4(route: RouteMessage) -> Option<RouteV4> {
    let header = &route.header;
    if header.address_family != AddressFamily::Inet
        || header.kind != RouteType::Unicast
        || header.flags.contains(RouteFlags::Cloned)
    {
        return None;
    }
    let mut out = RouteV4 {
        dst: Ipv4Addr::UNSPECIFIED,
        prefix: header.destination_prefix_length,
        gateway: None,
        oif: None,
        table: u32::from(header.table),
    };
    for attr in route.attributes {
        match attr {
            RouteAttribute::Destination(RouteAddress::Inet(dst)) => out.dst = dst,
            RouteAttribute::Gateway(RouteAddress::Inet(gateway)) => out.gateway = Some(gateway),
            RouteAttribute::Oif(oif) => out.oif = Some(oif),
            RouteAttribute::Table(table) => out.table = table,
            RouteAttribute::MultiPath(hops) if out.gateway.is_none() && out.oif.is_none() => {
                if let Some(hop) = hops.into_iter().next() {
                    out.oif = Some(hop.interface_index).filter(|&i| i != 0);
                    out.gateway = hop.attributes.into_iter().find_map(|a| match a {
                        RouteAttribute::Gateway(RouteAddress::Inet(gateway)) => Some(gateway),
                        _ => None,
                    });
                }
            }
            _ => {}
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tap::netns::NetNs;

    use crate::tap::test_support::privileged;

    fn unique_name() -> String {
        crate::tap::test_support::unique_name("hl-test-nl")
    }

    // Reading needs no privilege, and every namespace has `lo` as ifindex 1.
    #[test]
    fn lookups_in_the_current_namespace() {
        let mut rtnl = Rtnl::open().unwrap();
        assert_eq!(rtnl.link_by_name("nonexistent0").unwrap(), None);
        let lo = rtnl.link_by_name("lo").unwrap().expect("lo exists");
        assert_eq!((lo.index, lo.kind.as_deref()), (1, None));
        let links = rtnl.links().unwrap();
        assert!(links.contains(&lo), "{links:?}");
        // The socket stays usable after a NACK and after dumps.
        assert_eq!(rtnl.link_by_name("nonexistent1").unwrap(), None);
        rtnl.routes_v4().unwrap();
        assert_eq!(
            rtnl.link_by_name("a-name-far-too-long").unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }

    #[test]
    fn addresses_and_routes_in_a_fresh_namespace() {
        if !privileged("addresses_and_routes_in_a_fresh_namespace") {
            return;
        }
        // The namespace is removed when `ns` drops, even if an assertion fails.
        let ns = NetNs::create(&unique_name()).unwrap();
        let mut rtnl = ns.run(Rtnl::open).unwrap().unwrap();

        let lo = rtnl.link_by_name("lo").unwrap().expect("lo exists");
        assert!(lo.up, "create() brings lo up: {lo:?}");
        assert_eq!((lo.index, lo.kind.as_deref()), (1, None));
        assert_eq!(rtnl.link_by_name("nonexistent0").unwrap(), None);

        // set_link changes only what it is given.
        rtnl.set_link(lo.index, None, Some(1500), None).unwrap();
        let changed = rtnl.link_by_name("lo").unwrap().unwrap();
        assert_eq!((changed.mtu, changed.up), (1500, true));
        rtnl.set_link(lo.index, Some(false), None, None).unwrap();
        let changed = rtnl.link_by_name("lo").unwrap().unwrap();
        assert_eq!((changed.mtu, changed.up), (1500, false));
        rtnl.set_link(lo.index, Some(true), Some(lo.mtu), None)
            .unwrap();
        assert_eq!(rtnl.link_by_name("lo").unwrap().unwrap(), lo);
        assert!(rtnl.links().unwrap().contains(&lo));

        // On lo an address's prefix is a local route (local table), so the connected route
        // of the main table is seen on another interface: a bridge, which needs no ports.
        add_bridge(&mut rtnl, "hl-br0").unwrap();
        let br = rtnl
            .link_by_name("hl-br0")
            .unwrap()
            .expect("the bridge exists");
        assert_eq!(
            (br.kind.as_deref(), br.up),
            (Some("bridge"), false),
            "{br:?}"
        );
        assert!(br.mac.is_some(), "{br:?}");
        let mac = [0x02, 0, 0, 0x77, 0, 1];
        rtnl.set_link(br.index, Some(true), None, Some(mac))
            .unwrap();
        let br = rtnl.link_by_name("hl-br0").unwrap().unwrap();
        assert_eq!((br.mac, br.up), (Some(mac), true), "{br:?}");
        let links = rtnl.links().unwrap();
        assert!(links.contains(&lo) && links.contains(&br), "{links:?}");

        let addr = Ipv4Addr::new(10, 77, 0, 1);
        rtnl.add_address(br.index, addr, 24).unwrap();
        let again = rtnl.add_address(br.index, addr, 24).unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::AlreadyExists, "{again}");
        assert!(again.to_string().contains("10.77.0.1/24"), "{again}");

        let route = RouteV4 {
            dst: Ipv4Addr::new(10, 78, 0, 0),
            prefix: 16,
            gateway: Some(Ipv4Addr::new(10, 77, 0, 2)),
            oif: None,
            table: RT_TABLE_MAIN,
        };
        rtnl.add_route(&route).unwrap();
        let again = rtnl.add_route(&route).unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::AlreadyExists, "{again}");
        let direct = RouteV4 {
            dst: Ipv4Addr::new(10, 79, 0, 0),
            prefix: 24,
            gateway: None,
            oif: Some(br.index),
            table: RT_TABLE_MAIN,
        };
        rtnl.add_route(&direct).unwrap();

        let routes = rtnl.routes_v4().unwrap();
        let connected = RouteV4 {
            dst: Ipv4Addr::new(10, 77, 0, 0),
            prefix: 24,
            gateway: None,
            oif: Some(br.index),
            table: RT_TABLE_MAIN,
        };
        let via = RouteV4 {
            oif: Some(br.index),
            ..route.clone()
        };
        // Exactly these: local and broadcast routes live in the local table.
        let mut expected = vec![connected.clone(), via.clone(), direct.clone()];
        let mut sorted = routes.clone();
        sorted.sort_by_key(|r| (r.dst, r.prefix));
        expected.sort_by_key(|r| (r.dst, r.prefix));
        assert_eq!(sorted, expected);

        rtnl.del_route(&route).unwrap();
        let gone = rtnl.del_route(&route).unwrap_err();
        assert_eq!(errno_in(&gone), Some(libc::ESRCH), "{gone}");
        rtnl.del_route(&direct).unwrap();
        rtnl.del_address(br.index, addr, 24).unwrap();
        let gone = rtnl.del_address(br.index, addr, 24).unwrap_err();
        assert_eq!(gone.kind(), io::ErrorKind::AddrNotAvailable, "{gone}");
        assert_eq!(rtnl.routes_v4().unwrap(), []);

        // An address on lo: its prefix goes to the local table, so the main one stays empty.
        rtnl.add_address(lo.index, addr, 24).unwrap();
        assert_eq!(rtnl.routes_v4().unwrap(), []);
        rtnl.del_address(lo.index, addr, 24).unwrap();

        // A route through a gateway nothing reaches is refused, with the kernel's reason.
        let e = rtnl.add_route(&route).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("adding route 10.78.0.0/16 via 10.77.0.2: "),
            "{e}"
        );
        eprintln!("refused as expected: {e}");
    }

    /// `ip link add NAME type bridge`, for tests only: the lab itself makes no links.
    fn add_bridge(rtnl: &mut Rtnl, name: &str) -> io::Result<()> {
        use netlink_packet_route::link::InfoKind;
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.into()));
        msg.attributes
            .push(LinkAttribute::LinkInfo(vec![NlLinkInfo::Kind(
                InfoKind::Bridge,
            )]));
        rtnl.exchange(RouteNetlinkMessage::NewLink(msg), NLM_F_CREATE | NLM_F_EXCL)
            .map(drop)
    }

    /// The errno named in a context-wrapped error's message.
    fn errno_in(e: &io::Error) -> Option<i32> {
        let text = e.to_string();
        let at = text.rfind("(os error ")? + "(os error ".len();
        text[at..].split(')').next()?.parse().ok()
    }

    #[test]
    fn kernel_errors_keep_their_errno() {
        let plain = kernel_error(-libc::EPERM, 0, &[]);
        assert_eq!(plain.raw_os_error(), Some(libc::EPERM));
        assert_eq!(plain.to_string(), "Operation not permitted (os error 1)");

        // A capped NACK with an extended-ack message after the 16-byte request header.
        let mut payload = vec![0u8; 16];
        let msg = b"Nexthop has invalid gateway\0";
        let nla_len = 4 + msg.len();
        payload.extend_from_slice(&(nla_len as u16).to_ne_bytes());
        payload.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        payload.extend_from_slice(msg);
        payload.resize((payload.len() + 3) & !3, 0);
        let e = kernel_error(-libc::EINVAL, NLM_F_ACK_TLVS | NLM_F_CAPPED, &payload);
        assert_eq!(errno(&e), Some(libc::EINVAL));
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            e.to_string(),
            "Invalid argument (os error 22): Nexthop has invalid gateway"
        );

        // Garbage after the header is ignored rather than trusted.
        let e = kernel_error(-libc::EINVAL, NLM_F_ACK_TLVS | NLM_F_CAPPED, &[0xff; 21]);
        assert_eq!(e.raw_os_error(), Some(libc::EINVAL));
        let e = kernel_error(-libc::EINVAL, NLM_F_ACK_TLVS, &[0xff; 3]);
        assert_eq!(e.raw_os_error(), Some(libc::EINVAL));
    }
}

//! The lab file as written: serde types that mirror the YAML one to one, with unknown fields
//! refused and locations kept on every value a later check may reject.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::schema::forms;

/// A value with its location in the file. `Spanned` is serde-saphyr's: it has no JSON Schema
/// of its own, so each field of this type names its value's schema
/// (`#[schemars(with = "T")]`); in the file it is written as the bare value.
pub type S<T> = Spanned<T>;

/// A hoplab lab: bridges, hosts, routers and Docker hosts joined by links, the steps run on
/// them, and what the captures must show (`hoplab run FILE`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Lab")]
pub struct RawLab {
    #[schemars(with = "forms::Version")]
    pub version: S<u32>,
    /// The lab's name; it names the capture folder (`captures/NAME`).
    #[schemars(with = "String")]
    pub name: S<String>,
    /// Printed before the run: what the lab teaches.
    #[serde(default)]
    pub about: Option<String>,
    /// Every random choice (MACs not given, loss, TCP sequence numbers) is drawn from it
    /// (default 1; `--seed` overrides it).
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    #[schemars(with = "Option<forms::Captures>")]
    pub captures: Option<S<String>>,
    /// Bytes of each frame the capture files keep, as tcpdump's `-s` (headers only for bulk
    /// transfers, e.g. 96); records keep each frame's length, and capture expectations still
    /// see whole frames. 0 or absent: whole frames. `--snap N` overrides it.
    #[serde(default)]
    #[schemars(with = "Option<u16>")]
    pub snaplen: Option<S<u32>>,
    /// A snap length of its own for some capture points (`r1:eth0: 96`; 0 keeps whole
    /// frames there), over `snaplen` and `--snap N`; `--snap POINT=N` overrides one.
    #[serde(default)]
    #[schemars(with = "Option<std::collections::BTreeMap<String, u16>>")]
    pub point_snaplen: Option<Ordered<u32>>,
    /// After the last step, the run goes on until no frame has moved for this long (default
    /// 1s).
    #[serde(default)]
    #[schemars(with = "Option<forms::Duration>")]
    pub settle: Option<S<String>>,
    /// A hard stop in virtual time (default: none; at most 1 hour).
    #[serde(default)]
    #[schemars(with = "Option<forms::Duration>")]
    pub duration: Option<S<String>>,
    /// What the lab needs of the machine that runs it.
    #[serde(default)]
    #[schemars(with = "Vec<forms::Requirement>")]
    pub requires: Vec<S<String>>,
    /// The lab storms on purpose (an L2 loop without STP, to teach it): the storm guard
    /// stopping the run is expected, and the lab fails if it does not.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub storms: Option<S<bool>>,
    /// Learning bridges (a Linux bridge each).
    #[serde(default)]
    pub bridges: Vec<RawBridge>,
    /// Hosts: end systems with a TCP/IP stack, running the steps' commands.
    #[serde(default)]
    pub hosts: Vec<RawHost>,
    /// Linux-like hosts that forward: routes, neighbour table, conntrack, iptables.
    #[serde(default)]
    pub routers: Vec<RawRouter>,
    /// Links between two interfaces or bridge ports (`node:iface`).
    #[serde(default)]
    pub links: Vec<RawLink>,
    /// What happens during the run, in order: commands, listings, links going down or up.
    // Each step is located, so an error about a step that names nothing (`- {}`) finds it.
    #[serde(default)]
    #[schemars(with = "Vec<RawStep>")]
    pub steps: Vec<S<RawStep>>,
    /// What the captures must show once the run is over.
    #[serde(default)]
    pub expect: Vec<RawCaptureExpect>,
    /// Docker hosts (one map, or a list of them), expanded into the pieces above
    /// (`super::docker`).
    #[serde(default)]
    #[schemars(
        description = "Docker hosts (one map, or a list of them), each with its networks and containers."
    )]
    pub docker: OneOrMany<super::docker::RawDocker>,
    /// TAP devices that join the lab to the host kernel (Linux, CAP_NET_ADMIN): the lab
    /// then runs in real time.
    #[serde(default)]
    pub taps: Vec<super::taps::RawTap>,
    /// The kernel side of the TAPs: the network namespace they live in.
    #[serde(default)]
    pub kernel: Option<super::taps::RawKernel>,
}

/// A learning bridge.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Bridge")]
pub struct RawBridge {
    /// The bridge's name; links name its ports `NAME:PORT`, steps show it with `on: NAME`.
    #[schemars(with = "String")]
    pub name: S<String>,
    /// The bridge's own MAC, e.g. "02:00:00:00:00:01" (default: drawn from the seed).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub mac: Option<S<String>>,
    /// FDB ageing time (default 300s); 0 makes the bridge a hub.
    #[serde(default)]
    #[schemars(with = "Option<forms::Duration>")]
    pub ageing: Option<S<String>>,
    /// Learned FDB entries at most (default 65536); beyond it nothing new is learned.
    #[serde(default)]
    #[schemars(with = "Option<u64>")]
    pub fdb_max: Option<S<u64>>,
    /// Port names; a link to `BRIDGE:NAME` also creates port NAME.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub ports: Vec<S<String>>,
    /// The router whose interface of the bridge's name is the bridge device (`docker0` on a
    /// Docker host): frames for the bridge's MAC go up to that interface.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub host: Option<S<String>>,
    /// The host's interface that is this bridge's device (default: the bridge's name).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub device: Option<S<String>>,
    /// Ports with `hairpin on`: a frame may go back out of the port it came in on.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub hairpin: Vec<S<String>>,
    /// Runs 802.1D spanning tree (`stp_state 1`): BPDUs, ports blocking a loop, 30 s of
    /// listening and learning before a port forwards. Off by default, as in Linux.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub stp: Option<S<bool>>,
    /// 802.1Q VLAN filtering (`vlan_filtering 1`): a frame belongs to a VLAN (its tag's, or
    /// the port's PVID) and leaves only by ports of that VLAN. Off by default, as in Linux.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub vlan_filtering: Option<S<bool>>,
    /// Ports' VLANs, as `bridge vlan add dev PORT vid ...` sets them: entries
    /// `VID [pvid] [untagged]` (or `VID-VID`) separated by commas, e.g. `p1: 10 pvid
    /// untagged` (an access port), `trunk: 10, 20`. A port listed has exactly these; one not
    /// listed keeps VLAN 1 as its PVID, untagged. The bridge's own name sets the bridge
    /// device's VLANs (`bridge vlan ... dev BR self`).
    #[serde(default)]
    #[schemars(with = "Option<std::collections::BTreeMap<String, String>>")]
    pub vlans: Option<Ordered<S<String>>>,
}

/// A host: an end system whose commands the steps run.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Host")]
pub struct RawHost {
    /// The host's name; links name its interfaces `NAME:IFACE`, steps run on it with
    /// `on: NAME`.
    #[schemars(with = "String")]
    pub name: S<String>,
    /// Its interfaces by name: `eth0: 10.0.0.2/24`, or `eth0: {ip, mac, mtu}`.
    pub interfaces: Ordered<RawIface>,
    /// The default route's next hop (on one of the host's subnets).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub gateway: Option<S<String>>,
    /// The IPv6 default route's next hop: on one of the host's IPv6 prefixes, or a
    /// link-local address (a router's fe80::...), reached through its first IPv6 interface.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub gateway6: Option<S<String>>,
    /// Unsolicited ARPs per interface when the host comes up, one second apart (0-3).
    #[serde(default)]
    #[schemars(with = "Option<u8>")]
    pub announce: Option<S<u8>>,
    /// Static routes, each through a gateway on one of the host's subnets: `ip route add
    /// PREFIX via GW [dev IF] [metric N]` (the `ip route add` prefix may be left out).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub routes: Vec<S<String>>,
}

/// A router: a Linux-like host that forwards, with the kernel's routing, neighbours,
/// conntrack and netfilter.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Router")]
pub struct RawRouter {
    /// The router's name; links name its interfaces `NAME:IFACE`, steps run on it with
    /// `on: NAME`.
    #[schemars(with = "String")]
    pub name: S<String>,
    /// Its interfaces by name: `eth0: 10.0.0.1/24`, or `eth0: {ip, mac, mtu}`.
    pub interfaces: Ordered<RawIface>,
    /// `net.ipv4.ip_forward` (default on).
    #[serde(default)]
    pub forwarding: Option<bool>,
    /// `ip route add ...` commands (the `ip route add` prefix may be left out).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub routes: Vec<S<String>>,
    /// `iptables ...` (and `ip6tables ...`) commands applied at start, in order.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub iptables: Vec<S<String>>,
    /// `1.8.10` (default) or `1.8.9`: which iptables the listings imitate.
    #[serde(default)]
    #[schemars(with = "Option<forms::IptablesVersion>")]
    pub iptables_version: Option<S<String>>,
    /// `1.0.6` (default) or `1.1`: which nft the `nft list` output imitates.
    #[serde(default)]
    #[schemars(with = "Option<forms::NftVersion>")]
    pub nft_version: Option<S<String>>,
    /// An nftables ruleset loaded at start as `nft -f` loads a file (tables, chains, sets,
    /// maps and rules in nft's syntax), after the `iptables` commands.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub nftables: Option<S<String>>,
    /// `KEY=VALUE` sysctls set at start (`net.ipv4.conf.docker0.route_localnet=1`).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub sysctls: Vec<S<String>>,
}

/// An interface: `eth0: 10.0.0.2/24` or `eth0: {ip: 10.0.0.2/24, mac: ..., mtu: 1500}`.
#[derive(Debug)]
pub struct RawIface {
    pub ip: Option<S<String>>,
    /// `2001:db8:1::10/64`, or `link-local` for IPv6 with its link-local address alone.
    pub ipv6: Option<S<String>>,
    pub mac: Option<S<String>>,
    pub mtu: Option<S<u32>>,
    /// A router's VLAN device: its parent and VLAN id (`link: eth0, vlan: 10`).
    pub link: Option<S<String>>,
    pub vlan: Option<S<u16>>,
}

/// An interface's settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "InterfaceSettings")]
struct RawIfaceMap {
    /// The address with its prefix, e.g. 10.0.0.2/24.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    ip: Option<S<String>>,
    /// A host's IPv6 address with its prefix, e.g. 2001:db8:1::10/64, or `link-local`:
    /// the interface has IPv6 with the link-local address Linux makes from the MAC
    /// (fe80::/64 + EUI-64), which it also has beside an address given here. Without this
    /// key IPv6 is off on the interface, as Docker leaves a container's interface.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    ipv6: Option<S<String>>,
    /// The MAC, e.g. "02:42:ac:11:00:02" (default: drawn from the seed).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    mac: Option<S<String>>,
    /// The MTU (default 1500; 68-65535).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    mtu: Option<S<u32>>,
    /// On a router, makes the interface a VLAN device of this interface (with `vlan`), as
    /// `ip link add link PARENT name NAME type vlan id N` does; an interface named
    /// `PARENT.N` is one without saying so.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    link: Option<S<String>>,
    /// The VLAN id (1-4094) of a VLAN device (with `link`).
    #[serde(default)]
    #[schemars(with = "Option<u16>")]
    vlan: Option<S<u16>>,
}

impl JsonSchema for RawIface {
    fn schema_name() -> Cow<'static, str> {
        "Interface".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        // The forms `RawIface::deserialize` accepts (a string, a map, or nothing), as an
        // enum for the derive to describe.
        /// An interface: its address (`eth0: 10.0.0.2/24`), its settings
        /// (`eth0: {ip: 10.0.0.2/24, mac: "02:42:ac:11:00:02", mtu: 1500}`), or nothing
        /// (`eth0:`, an interface without an address).
        #[derive(JsonSchema)]
        #[schemars(untagged)]
        #[allow(
            dead_code,
            clippy::large_enum_variant,
            reason = "only its schema is used: no value is made"
        )]
        enum Forms {
            Address(String),
            Settings(RawIfaceMap),
            Bare(()),
        }
        Forms::json_schema(generator)
    }
}

impl<'de> Deserialize<'de> for RawIface {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawIface;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an address such as 10.0.0.2/24, or a map with ip, mac, mtu")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawIface, E> {
                // The string form has no span of its own: the key's location is used.
                Ok(RawIface {
                    ip: Some(Spanned::new(
                        v.to_string(),
                        serde_saphyr::Location::UNKNOWN,
                        serde_saphyr::Location::UNKNOWN,
                    )),
                    ipv6: None,
                    mac: None,
                    mtu: None,
                    link: None,
                    vlan: None,
                })
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawIface, E> {
                Ok(RawIface {
                    ip: None,
                    ipv6: None,
                    mac: None,
                    mtu: None,
                    link: None,
                    vlan: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawIface, A::Error> {
                let m = RawIfaceMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawIface {
                    ip: m.ip,
                    ipv6: m.ipv6,
                    mac: m.mac,
                    mtu: m.mtu,
                    link: m.link,
                    vlan: m.vlan,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// One item, or a list of them.
#[derive(Debug)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<T: JsonSchema> JsonSchema for OneOrMany<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("OneOrMany_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        // The forms `OneOrMany::deserialize` accepts, as an enum for the derive to describe.
        #[derive(JsonSchema)]
        #[schemars(untagged)]
        #[allow(dead_code, reason = "only its schema is used: no value is made")]
        enum Forms<T> {
            One(T),
            Many(Vec<T>),
        }
        Forms::<T>::json_schema(generator)
    }
}

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map, or a list of maps")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<OneOrMany<T>, A::Error> {
                let one = T::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(OneOrMany(vec![one]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany<T>, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = seq.next_element()? {
                    v.push(x);
                }
                Ok(OneOrMany(v))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A YAML map read in document order, keys with their locations.
#[derive(Debug)]
pub struct Ordered<T>(pub Vec<(S<String>, T)>);

/// A map from names to `T`, as a JSON object: its order is the loader's business.
impl<T: JsonSchema> JsonSchema for Ordered<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("Map_of_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        std::collections::BTreeMap::<String, T>::json_schema(generator)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of interface names, e.g. {eth0: 10.0.0.2/24}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered<T>, A::Error> {
                let mut v = Vec::new();
                while let Some(k) = map.next_key::<S<String>>()? {
                    v.push((k, map.next_value::<T>()?));
                }
                Ok(Ordered(v))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// A link: `[c1:eth0, br0:veth1]` or `{a: c1:eth0, b: br0:veth1, delay: 1ms, ...}`.
#[derive(Debug, Default)]
pub struct RawLink {
    pub a: Option<S<String>>,
    pub b: Option<S<String>>,
    pub delay: Option<S<String>>,
    pub jitter: Option<S<String>>,
    pub loss: Option<S<f64>>,
    pub rate: Option<S<String>>,
    pub mtu: Option<S<u32>>,
    pub queue: Option<S<u32>>,
}

/// A link with its properties.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "LinkSettings")]
struct RawLinkMap {
    /// One end, `node:iface` (or `bridge:port`).
    #[schemars(with = "String")]
    a: S<String>,
    /// The other end, `node:iface` (or `bridge:port`).
    #[schemars(with = "String")]
    b: S<String>,
    /// One-way delay (default 10us, as a veth pair).
    #[serde(default)]
    #[schemars(with = "Option<forms::Duration>")]
    delay: Option<S<String>>,
    /// Random extra delay, up to this much.
    #[serde(default)]
    #[schemars(with = "Option<forms::Duration>")]
    jitter: Option<S<String>>,
    /// Frames lost: a fraction 0..1, or a percentage 0..100 (default 0).
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    loss: Option<S<f64>>,
    /// The rate frames are serialised at (default: unlimited).
    #[serde(default)]
    #[schemars(with = "Option<forms::Rate>")]
    rate: Option<S<String>>,
    /// The link's MTU (default 1500; 68-65535).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    mtu: Option<S<u32>>,
    /// Frames that may wait for serialisation (default 1000; only meaningful with a rate).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    queue: Option<S<u32>>,
}

impl JsonSchema for RawLink {
    fn schema_name() -> Cow<'static, str> {
        "Link".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        // The forms `RawLink::deserialize` accepts, as an enum for the derive to describe.
        /// A link: its two ends (`[c1:eth0, br0:veth1]`: a veth pair, 10us one way, no
        /// loss, unlimited rate, MTU 1500), or a map with the ends and the link's properties
        /// (`{a: c1:eth1, b: r1:eth0, delay: 5ms, loss: 0.01}`).
        #[derive(JsonSchema)]
        #[schemars(untagged)]
        #[allow(
            dead_code,
            clippy::large_enum_variant,
            reason = "only its schema is used: no value is made"
        )]
        enum Forms {
            Ends([String; 2]),
            Settings(RawLinkMap),
        }
        Forms::json_schema(generator)
    }
}

impl<'de> Deserialize<'de> for RawLink {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawLink;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a link: [node:iface, node:iface] or {a: ..., b: ..., delay: ...}")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawLink, A::Error> {
                let a: S<String> = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("a link needs two ends"))?;
                let b: S<String> = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("a link needs two ends"))?;
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("a link joins exactly two ends"));
                }
                Ok(RawLink {
                    a: Some(a),
                    b: Some(b),
                    ..RawLink::default()
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawLink, A::Error> {
                let m = RawLinkMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawLink {
                    a: Some(m.a),
                    b: Some(m.b),
                    delay: m.delay,
                    jitter: m.jitter,
                    loss: m.loss,
                    rate: m.rate,
                    mtu: m.mtu,
                    queue: m.queue,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// A step: run a command on a node (`run`), show a listing (`show`), or set a link end
/// down or up (`link` with `set`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Step")]
pub struct RawStep {
    /// Names the step (letters, digits, - _ .; unique in the lab): reports, JSON, JUnit and
    /// `trace --during` show it, and a capture expectation's `during:` refers to it.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub name: Option<S<String>>,
    /// When the step starts, in virtual time since the lab began (default: when the step
    /// before it finishes).
    #[serde(default)]
    #[schemars(with = "Option<forms::Duration>")]
    pub at: Option<S<String>>,
    /// Starts the step this long after the step before it finished (instead of `at`), as a
    /// person typing the next command would: `after: 10ms`.
    #[serde(default)]
    #[schemars(with = "Option<forms::Duration>")]
    pub after: Option<S<String>>,
    /// The node the command runs on or the listing is of: a host, router, bridge,
    /// container or Docker host.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub on: Option<S<String>>,
    /// A command to run, e.g. `ping -c 3 172.17.0.3`; commands may be joined with `||`
    /// and `&&` as in a shell (`iptables -C ... || iptables -I ...`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub run: Option<S<String>>,
    /// A listing to print, e.g. `ip route` or `bridge fdb show`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub show: Option<S<String>>,
    /// `link: c1:eth0` with `set: down|up`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub link: Option<S<String>>,
    #[serde(default)]
    #[schemars(with = "Option<forms::LinkState>")]
    pub set: Option<S<String>>,
    /// What the command reads on its standard input (`nc`, `iptables-restore`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub input: Option<S<String>>,
    /// A file whose contents are the command's standard input (a real host's
    /// `iptables-save` dump for `iptables-restore`), relative to the lab file.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub input_file: Option<S<String>>,
    /// Runs the command until the lab ends instead of waiting for it; its output is printed
    /// at the end.
    #[serde(default)]
    pub background: bool,
    /// How long a foreground command is waited for before it is stopped (default 30s).
    #[serde(default)]
    #[schemars(with = "Option<forms::Duration>")]
    pub timeout: Option<S<String>>,
    /// What the command's result or the listing must show.
    #[serde(default)]
    pub expect: Option<RawCmdExpect>,
    /// A task for the student: `hoplab run` prints the prompt and runs nothing; `hoplab test
    /// --answers FILE` runs the student's commands here, on `on`.
    #[serde(default)]
    pub exercise: Option<RawExercise>,
}

/// An exercise step's task.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Exercise")]
pub struct RawExercise {
    /// Names the exercise in an answers file (letters, digits, - _ .), unique in the lab.
    #[schemars(with = "String")]
    pub id: S<String>,
    /// What the student is asked to do.
    pub prompt: String,
}

/// A step's expectations: each one given must hold.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "StepExpect")]
pub struct RawCmdExpect {
    /// The command's exit status.
    #[serde(default)]
    pub exit: Option<i32>,
    /// Replies received (ping) or datagrams received (`nc -u`).
    #[serde(default)]
    pub received: Option<u64>,
    /// Packets sent (ping).
    #[serde(default)]
    pub transmitted: Option<u64>,
    /// The HTTP status (curl).
    #[serde(default)]
    pub status: Option<u16>,
    /// Payload bytes moved (curl's body, a bulk transfer, nc).
    #[serde(default)]
    pub bytes: Option<u64>,
    /// Texts the output (or the listing) must contain.
    #[serde(default)]
    pub contains: Vec<String>,
    /// Texts the output (or the listing) must not contain.
    #[serde(default)]
    pub not_contains: Vec<String>,
}

/// A capture expectation: how many frames seen at a capture point match a display filter.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "CaptureExpect")]
pub struct RawCaptureExpect {
    /// The capture point, `node:iface` (or `bridge:port`).
    #[schemars(with = "String")]
    pub capture: S<String>,
    /// A display filter in Wireshark's language, e.g. `icmp && ip.src == 10.0.0.2`.
    #[schemars(with = "String")]
    pub filter: S<String>,
    /// Exactly this many matching frames.
    #[serde(default)]
    pub count: Option<u64>,
    /// At least this many matching frames.
    #[serde(default)]
    pub at_least: Option<u64>,
    /// At most this many matching frames.
    #[serde(default)]
    pub at_most: Option<u64>,
    /// Counts only the frames recorded while this step ran (its `name:`), from its start to
    /// its end; a background step's window runs to the end of the lab.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub during: Option<S<String>>,
    /// Counts only the frames recorded at or after this virtual time.
    #[serde(default)]
    #[schemars(with = "Option<forms::Duration>")]
    pub from: Option<S<String>>,
    /// Counts only the frames recorded at or before this virtual time.
    #[serde(default)]
    #[schemars(with = "Option<forms::Duration>")]
    pub to: Option<S<String>>,
    /// Shown when the expectation fails: what it means.
    #[serde(default)]
    pub why: Option<String>,
}

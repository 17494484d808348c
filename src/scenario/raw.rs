//! The lab file as written: serde types that mirror the YAML one to one, with unknown fields
//! refused and locations kept on every value a later check may reject.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

pub type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLab {
    pub version: S<u32>,
    pub name: S<String>,
    #[serde(default)]
    pub about: Option<String>,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub captures: Option<S<String>>,
    #[serde(default)]
    pub settle: Option<S<String>>,
    #[serde(default)]
    pub duration: Option<S<String>>,
    #[serde(default)]
    pub requires: Vec<S<String>>,
    #[serde(default)]
    pub bridges: Vec<RawBridge>,
    #[serde(default)]
    pub hosts: Vec<RawHost>,
    #[serde(default)]
    pub routers: Vec<RawRouter>,
    #[serde(default)]
    pub links: Vec<RawLink>,
    #[serde(default)]
    pub steps: Vec<RawStep>,
    #[serde(default)]
    pub expect: Vec<RawCaptureExpect>,
    /// Docker hosts (one map, or a list of them), expanded into the pieces above
    /// (`super::docker`).
    #[serde(default)]
    pub docker: OneOrMany<super::docker::RawDocker>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBridge {
    pub name: S<String>,
    #[serde(default)]
    pub mac: Option<S<String>>,
    #[serde(default)]
    pub ageing: Option<S<String>>,
    #[serde(default)]
    pub fdb_max: Option<S<u64>>,
    #[serde(default)]
    pub ports: Vec<S<String>>,
    /// The router whose interface of the bridge's name is the bridge device (`docker0` on a
    /// Docker host): frames for the bridge's MAC go up to that interface.
    #[serde(default)]
    pub host: Option<S<String>>,
    /// The host's interface that is this bridge's device (default: the bridge's name).
    #[serde(default)]
    pub device: Option<S<String>>,
    /// Ports with `hairpin on`: a frame may go back out of the port it came in on.
    #[serde(default)]
    pub hairpin: Vec<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHost {
    pub name: S<String>,
    pub interfaces: Ordered<RawIface>,
    #[serde(default)]
    pub gateway: Option<S<String>>,
    /// Unsolicited ARPs per interface when the host comes up, one second apart (0-3).
    #[serde(default)]
    pub announce: Option<S<u8>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRouter {
    pub name: S<String>,
    pub interfaces: Ordered<RawIface>,
    /// `net.ipv4.ip_forward` (default on).
    #[serde(default)]
    pub forwarding: Option<bool>,
    /// `ip route add ...` commands (the `ip route add` prefix may be left out).
    #[serde(default)]
    pub routes: Vec<S<String>>,
    /// `iptables ...` commands applied at start, in order.
    #[serde(default)]
    pub iptables: Vec<S<String>>,
    /// `1.8.10` (default) or `1.8.9`: which iptables the listings imitate.
    #[serde(default)]
    pub iptables_version: Option<S<String>>,
    /// `KEY=VALUE` sysctls set at start (`net.ipv4.conf.docker0.route_localnet=1`).
    #[serde(default)]
    pub sysctls: Vec<S<String>>,
}

/// An interface: `eth0: 10.0.0.2/24` or `eth0: {ip: 10.0.0.2/24, mac: ..., mtu: 1500}`.
#[derive(Debug)]
pub struct RawIface {
    pub ip: Option<S<String>>,
    pub mac: Option<S<String>>,
    pub mtu: Option<S<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIfaceMap {
    #[serde(default)]
    ip: Option<S<String>>,
    #[serde(default)]
    mac: Option<S<String>>,
    #[serde(default)]
    mtu: Option<S<u32>>,
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
                    mac: None,
                    mtu: None,
                })
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawIface, E> {
                Ok(RawIface {
                    ip: None,
                    mac: None,
                    mtu: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawIface, A::Error> {
                let m = RawIfaceMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawIface {
                    ip: m.ip,
                    mac: m.mac,
                    mtu: m.mtu,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// One item, or a list of them.
#[derive(Debug)]
pub struct OneOrMany<T>(pub Vec<T>);

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLinkMap {
    a: S<String>,
    b: S<String>,
    #[serde(default)]
    delay: Option<S<String>>,
    #[serde(default)]
    jitter: Option<S<String>>,
    #[serde(default)]
    loss: Option<S<f64>>,
    #[serde(default)]
    rate: Option<S<String>>,
    #[serde(default)]
    mtu: Option<S<u32>>,
    #[serde(default)]
    queue: Option<S<u32>>,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    #[serde(default)]
    pub at: Option<S<String>>,
    #[serde(default)]
    pub on: Option<S<String>>,
    #[serde(default)]
    pub run: Option<S<String>>,
    #[serde(default)]
    pub show: Option<S<String>>,
    /// `link: c1:eth0` with `set: down|up`.
    #[serde(default)]
    pub link: Option<S<String>>,
    #[serde(default)]
    pub set: Option<S<String>>,
    #[serde(default)]
    pub input: Option<String>,
    #[serde(default)]
    pub background: bool,
    #[serde(default)]
    pub timeout: Option<S<String>>,
    #[serde(default)]
    pub expect: Option<RawCmdExpect>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCmdExpect {
    #[serde(default)]
    pub exit: Option<i32>,
    #[serde(default)]
    pub received: Option<u64>,
    #[serde(default)]
    pub transmitted: Option<u64>,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub bytes: Option<u64>,
    #[serde(default)]
    pub contains: Vec<String>,
    #[serde(default)]
    pub not_contains: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCaptureExpect {
    pub capture: S<String>,
    pub filter: S<String>,
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub at_least: Option<u64>,
    #[serde(default)]
    pub at_most: Option<u64>,
    #[serde(default)]
    pub why: Option<String>,
}

//! How Docker names and numbers things: subnets from the default address pools, container
//! addresses, MACs, veth names and object IDs (`docker-netfilter.md` §2.1, §2.2).
//!
//! Every function is pure: what is already in use comes in as arguments, and randomness comes
//! from the caller's source (`&mut impl FnMut() -> u64`, e.g. `|| rng.next_u64()` on a
//! [`crate::rand::Rng`] stream), so a seeded run always draws the same names.

use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr, Ipv6Address, Ipv6Cidr};

use super::model::Engine;

/// The local-scope default address pools, in allocation order (`libnetwork/ipamutils/
/// utils.go`): 172.17–172.19/16, then 172.20.0.0/14, 172.24.0.0/14 and 172.28.0.0/14 split
/// into /16s, then 192.168.0.0/16 split into /20s; 31 subnets in all.
pub fn local_address_pools() -> Vec<Ipv4Cidr> {
    let sixteens = (17..=31).map(|b| Ipv4Cidr::new(Ipv4Address::new(172, b, 0, 0), 16));
    let twenties = (0..16).map(|i| Ipv4Cidr::new(Ipv4Address::new(192, 168, i * 16, 0), 20));
    sixteens.chain(twenties).collect()
}

/// Whether two prefixes share an address. CIDR blocks are nested or disjoint, so they
/// overlap exactly when one holds the other's network address.
pub fn overlaps(a: Ipv4Cidr, b: Ipv4Cidr) -> bool {
    let (a, b) = (a.network(), b.network());
    a.contains_addr(&b.address()) || b.contains_addr(&a.address())
}

/// The subnet `docker network create` picks without `--subnet`: the lowest default pool that
/// overlaps neither an existing network nor a reserved prefix (the host's on-link routes and
/// nameservers, `netutils.InferReservedNetworks`); pass both in `in_use`. The default bridge
/// takes 172.17.0.0/16, so the first user network gets 172.18.0.0/16. None when all 31 are
/// taken.
pub fn allocate_subnet(in_use: &[Ipv4Cidr]) -> Option<Ipv4Cidr> {
    local_address_pools()
        .into_iter()
        .find(|pool| !in_use.iter().any(|used| overlaps(*pool, *used)))
}

/// The first assignable address: the one after the network address, except in /31 and /32
/// where every address is a host (`newPoolData` reserves network and broadcast otherwise).
pub fn first_host(subnet: Ipv4Cidr) -> Option<Ipv4Address> {
    let net = subnet.network();
    let base = net.address().to_bits();
    match net.prefix_len() {
        31 | 32 => Some(net.address()),
        _ => base.checked_add(1).map(Ipv4Address::from_bits),
    }
}

/// The last assignable address: the one before the broadcast address (or the last of a /31,
/// the only one of a /32).
pub fn last_host(subnet: Ipv4Cidr) -> Option<Ipv4Address> {
    let net = subnet.network();
    let size_minus_one = u32::MAX
        .checked_shr(u32::from(net.prefix_len()))
        .unwrap_or(0);
    let top = net.address().to_bits() | size_minus_one;
    match net.prefix_len() {
        31 | 32 => Some(Ipv4Address::from_bits(top)),
        _ => top.checked_sub(1).map(Ipv4Address::from_bits),
    }
}

/// The address the default IPAM gives the next container: bridge networks allocate
/// first-available, not serially, so the lowest free host address wins and a freed address
/// is reused at once. The gateway (usually .1) is never handed out, so the first container
/// gets .2. None when the subnet is full.
pub fn allocate_address(
    subnet: Ipv4Cidr,
    gateway: Ipv4Address,
    in_use: &[Ipv4Address],
) -> Option<Ipv4Address> {
    let (first, last) = (first_host(subnet)?.to_bits(), last_host(subnet)?.to_bits());
    (first..=last)
        .map(Ipv4Address::from_bits)
        .find(|a| *a != gateway && !in_use.contains(a))
}

/// The network address of an IPv6 prefix (host bits zero).
pub fn network6(c: Ipv6Cidr) -> Ipv6Cidr {
    let len = u32::from(c.prefix_len());
    let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
    Ipv6Cidr::new(
        Ipv6Address::from_bits(c.address().to_bits() & mask),
        c.prefix_len(),
    )
}

/// Whether two IPv6 prefixes share an address.
pub fn overlaps6(a: Ipv6Cidr, b: Ipv6Cidr) -> bool {
    let (a, b) = (network6(a), network6(b));
    a.contains_addr(&b.address()) || b.contains_addr(&a.address())
}

/// The IPv6 address the default IPAM gives the next container: as for IPv4, the lowest
/// free one after the subnet's first (the anycast address is not handed out; the gateway,
/// `::1` by default, is taken).
pub fn allocate_address6(
    subnet: Ipv6Cidr,
    gateway: Ipv6Address,
    in_use: &[Ipv6Address],
) -> Option<Ipv6Address> {
    let net = network6(subnet);
    let base = net.address().to_bits();
    let size = 1u128
        .checked_shl(128 - u32::from(net.prefix_len()))
        .unwrap_or(0);
    // Enough candidates to pass every address in use and the gateway.
    let tries = (in_use.len() as u128 + 2).min(size.saturating_sub(1));
    (1..=tries)
        .map(|i| Ipv6Address::from_bits(base + i))
        .find(|a| *a != gateway && !in_use.contains(a))
}

/// The /64 `--ipv6` takes without `--subnet` (27.1+): the next free one of a ULA /48
/// whose 40 global-ID bits come from the daemon's random source, fdXX:XXXX:XXXX::/48
/// (RFC 4193; moby `ipamutils` derives it from the host's ID).
pub fn ula_pool(random: &mut impl FnMut() -> u64) -> Ipv6Cidr {
    let global = random() & 0xff_ffff_ffff;
    let bits = (0xfdu128 << 120) | (u128::from(global) << 80);
    Ipv6Cidr::new(Ipv6Address::from_bits(bits), 48)
}

/// The next /64 of `pool` free of every prefix in `in_use`.
pub fn allocate_subnet6(pool: Ipv6Cidr, in_use: &[Ipv6Cidr]) -> Option<Ipv6Cidr> {
    let base = network6(pool).address().to_bits();
    let count = 1u128 << (64 - u32::from(pool.prefix_len().min(64)));
    (0..count.min(65536))
        .map(|i| Ipv6Cidr::new(Ipv6Address::from_bits(base + (i << 64)), 64))
        .find(|c| !in_use.iter().any(|u| overlaps6(*c, *u)))
}

/// A random locally administered unicast MAC, as `netutils.GenerateRandomMAC` makes them:
/// six random bytes with the multicast bit cleared and the local bit set.
pub fn random_mac(random: &mut impl FnMut() -> u64) -> EthernetAddress {
    let b = random().to_le_bytes();
    EthernetAddress([(b[0] & 0xfe) | 0x02, b[1], b[2], b[3], b[4], b[5]])
}

/// A container interface's MAC. Engine 27 derives it from the address (`02:42:` + the four
/// IPv4 bytes, `GenerateMACFromIP`); 28 and later draw a random one (§2.2).
pub fn container_mac(
    engine: Engine,
    ip: Ipv4Address,
    random: &mut impl FnMut() -> u64,
) -> EthernetAddress {
    match engine {
        Engine::V27 => {
            let [a, b, c, d] = ip.octets();
            EthernetAddress([0x02, 0x42, a, b, c, d])
        }
        Engine::V28 | Engine::V29 => random_mac(random),
    }
}

/// A bridge's MAC. Engine 27 uses `02:42:` + four random bytes; 28 and later a fully random
/// locally administered address (§2.2).
pub fn bridge_mac(engine: Engine, random: &mut impl FnMut() -> u64) -> EthernetAddress {
    match engine {
        Engine::V27 => {
            let b = random().to_le_bytes();
            EthernetAddress([0x02, 0x42, b[0], b[1], b[2], b[3]])
        }
        Engine::V28 | Engine::V29 => random_mac(random),
    }
}

/// The host side of a container's veth pair: `veth` + 7 hex digits (`vethPrefix`,
/// `vethLen`; e.g. `veth9780200` in the seed host).
pub fn veth_name(random: &mut impl FnMut() -> u64) -> String {
    let hex = format!("{:016x}", random());
    format!("veth{}", &hex[..7])
}

/// A network, container or endpoint ID: 64 hex digits.
pub fn random_id(random: &mut impl FnMut() -> u64) -> String {
    (0..4).map(|_| format!("{:016x}", random())).collect()
}

/// A user network's bridge: `br-` + the first 12 characters of its ID
/// (`bridge_linux.go`), e.g. `br-d9231d44a1ab`.
pub fn bridge_name(network_id: &str) -> String {
    let short: String = network_id.chars().take(12).collect();
    format!("br-{short}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(a: [u8; 4], len: u8) -> Ipv4Cidr {
        Ipv4Cidr::new(Ipv4Address::from(a), len)
    }

    #[test]
    fn pools_are_the_31_local_defaults_in_order() {
        let pools = local_address_pools();
        assert_eq!(pools.len(), 31);
        assert_eq!(pools[0].to_string(), "172.17.0.0/16");
        assert_eq!(pools[14].to_string(), "172.31.0.0/16");
        assert_eq!(pools[15].to_string(), "192.168.0.0/20");
        assert_eq!(pools[30].to_string(), "192.168.240.0/20");
    }

    #[test]
    fn hosts_of_small_prefixes() {
        let a = |x: [u8; 4]| Some(Ipv4Address::from(x));
        assert_eq!(first_host(cidr([10, 0, 0, 7], 32)), a([10, 0, 0, 7]));
        assert_eq!(last_host(cidr([10, 0, 0, 7], 32)), a([10, 0, 0, 7]));
        assert_eq!(first_host(cidr([10, 0, 0, 7], 31)), a([10, 0, 0, 6]));
        assert_eq!(last_host(cidr([10, 0, 0, 7], 31)), a([10, 0, 0, 7]));
        assert_eq!(first_host(cidr([0, 0, 0, 0], 0)), a([0, 0, 0, 1]));
        assert_eq!(last_host(cidr([0, 0, 0, 0], 0)), a([255, 255, 255, 254]));
    }

    #[test]
    fn ipv6_subnets_and_addresses() {
        let a = |s: &str| s.parse::<Ipv6Address>().unwrap();
        let c = |s: &str, l| Ipv6Cidr::new(a(s), l);
        assert_eq!(network6(c("fd00:1:2:3::9", 64)), c("fd00:1:2:3::", 64));
        let sub = c("fd00::", 64);
        assert_eq!(
            allocate_address6(sub, a("fd00::1"), &[]),
            Some(a("fd00::2"))
        );
        let used = [a("fd00::2"), a("fd00::3")];
        assert_eq!(
            allocate_address6(sub, a("fd00::1"), &used),
            Some(a("fd00::4"))
        );
        // A gateway set elsewhere leaves ::1 free.
        assert_eq!(
            allocate_address6(sub, a("fd00::99"), &[]),
            Some(a("fd00::1"))
        );
        assert_eq!(allocate_address6(c("fd00::", 127), a("fd00::1"), &[]), None);
        let mut n = 7u64;
        let pool = ula_pool(&mut || {
            n += 1;
            n * 0x1234_5678_9abc
        });
        assert_eq!(pool.prefix_len(), 48);
        assert_eq!(pool.address().octets()[0], 0xfd);
        let first = allocate_subnet6(pool, &[]).unwrap();
        assert_eq!(first, Ipv6Cidr::new(pool.address(), 64));
        let second = allocate_subnet6(pool, &[first]).unwrap();
        assert_eq!(second.address().octets()[7], 1);
        assert!(overlaps6(c("fd00::", 48), c("fd00:0:0:5::", 64)));
        assert!(!overlaps6(c("fd00::", 64), c("fd00:0:0:1::", 64)));
    }

    #[test]
    fn veth_names_and_ids_have_docker_lengths() {
        let mut n = 0u64;
        let mut next = || {
            n += 1;
            n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        };
        let veth = veth_name(&mut next);
        assert_eq!(veth.len(), 11);
        assert!(veth.starts_with("veth"));
        let id = random_id(&mut next);
        assert_eq!(id.len(), 64);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(bridge_name(&id).len(), 15);
        assert_eq!(bridge_name("abc"), "br-abc");
    }
}

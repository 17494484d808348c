//! How Docker names and numbers things: subnets from the default address pools, container
//! addresses, MACs, veth names and object IDs (`docker-netfilter.md` §2.1, §2.2).
//!
//! Every function is pure: what is already in use comes in as arguments, and randomness comes
//! from the caller's source (`&mut impl FnMut() -> u64`, e.g. `|| rng.next_u64()` on a
//! [`crate::rand::Rng`] stream), so a seeded run always draws the same names.

use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};

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

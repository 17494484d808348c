//! `docker network inspect` and `docker inspect` JSON, read into networks and endpoints.

use std::net::Ipv4Addr;

use serde_json::Value;

use super::{Cidr, ImportError, Source};

/// A Docker network of the `bridge` driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    pub name: String,
    pub id: String,
    pub driver: String,
    /// The host's bridge device: `docker0`, `br-<12 hex>`, or the network's bridge name option.
    pub device: String,
    pub subnet: Option<Cidr>,
    pub gateway: Option<Ipv4Addr>,
    pub mtu: Option<u32>,
    pub internal: bool,
}

/// A container's endpoint on one network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub container: String,
    pub container_id: String,
    pub network: String,
    pub network_id: String,
    pub ip: Option<Cidr>,
    pub mac: Option<String>,
    pub gateway: Option<Ipv4Addr>,
    pub aliases: Vec<String>,
}

fn array<'a>(src: &Source, v: &'a Value, what: &str) -> Result<&'a Vec<Value>, ImportError> {
    v.as_array().ok_or_else(|| src.not_format(what))
}

fn s(o: &Value, key: &str) -> Option<String> {
    o.get(key)
        .and_then(Value::as_str)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
}

/// Reads `docker network inspect ...`: the networks and the endpoints it lists.
pub fn parse_networks(src: &Source) -> Result<(Vec<Network>, Vec<Endpoint>), ImportError> {
    let what = "docker network inspect";
    let v: Value = serde_json::from_str(&src.text).map_err(|e| src.json_err(what, &e))?;
    let mut nets = Vec::new();
    let mut eps = Vec::new();
    for (k, o) in array(src, &v, what)?.iter().enumerate() {
        let (Some(name), Some(id), true) = (s(o, "Name"), s(o, "Id"), o.get("IPAM").is_some())
        else {
            return Err(src.err(
                1,
                format!(
                    "{}: not the JSON of {what}: entry {} has no \"Name\", \"Id\" and \"IPAM\"",
                    src.flag,
                    k + 1
                ),
            ));
        };
        let driver = s(o, "Driver").unwrap_or_default();
        let opt = |key: &str| {
            o.get("Options")
                .and_then(|x| x.get(key))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let device = opt("com.docker.network.bridge.name").unwrap_or_else(|| {
            if name == "bridge" {
                "docker0".into()
            } else {
                format!("br-{}", id.chars().take(12).collect::<String>())
            }
        });
        let cfg = o
            .get("IPAM")
            .and_then(|i| i.get("Config"))
            .and_then(Value::as_array)
            .and_then(|c| {
                c.iter()
                    .find(|c| s(c, "Subnet").is_some_and(|x| !x.contains(':')))
            });
        let bad = |what: &str, t: &str| {
            src.err(1, format!("{}: network {name}: bad {what} `{t}`", src.flag))
        };
        let subnet = match cfg.and_then(|c| s(c, "Subnet")) {
            Some(t) => Some(Cidr::parse(&t).ok_or_else(|| bad("subnet", &t))?),
            None => None,
        };
        let gateway = match cfg.and_then(|c| s(c, "Gateway")) {
            Some(t) => Some(t.parse().map_err(|_| bad("gateway", &t))?),
            None => None,
        };
        if let Some(cs) = o.get("Containers").and_then(Value::as_object) {
            for (cid, c) in cs {
                let ip = match s(c, "IPv4Address") {
                    Some(t) => Some(Cidr::parse(&t).ok_or_else(|| bad("container address", &t))?),
                    None => None,
                };
                if let Some(m) = s(c, "MacAddress").filter(|m| !super::is_unicast_mac(m)) {
                    return Err(bad("container MAC", &m));
                }
                eps.push(Endpoint {
                    container: s(c, "Name").unwrap_or_else(|| cid.chars().take(12).collect()),
                    container_id: cid.clone(),
                    network: name.clone(),
                    network_id: id.clone(),
                    ip,
                    mac: s(c, "MacAddress"),
                    gateway,
                    aliases: Vec::new(),
                });
            }
        }
        nets.push(Network {
            mtu: opt("com.docker.network.driver.mtu").and_then(|m| m.parse().ok()),
            internal: o.get("Internal").and_then(Value::as_bool).unwrap_or(false),
            name,
            id,
            driver,
            device,
            subnet,
            gateway,
        });
    }
    Ok((nets, eps))
}

/// Endpoints, and (container, network mode) of containers without one.
pub type Containers = (Vec<Endpoint>, Vec<(String, String)>);

/// Reads `docker inspect CONTAINER...`: each container's endpoints (`NetworkSettings.Networks`),
/// and the containers whose network mode is `host`, `none` or `container:...` (no endpoint).
pub fn parse_containers(src: &Source) -> Result<Containers, ImportError> {
    let what = "docker inspect";
    let v: Value = serde_json::from_str(&src.text).map_err(|e| src.json_err(what, &e))?;
    let mut eps = Vec::new();
    let mut other = Vec::new();
    for (k, o) in array(src, &v, what)?.iter().enumerate() {
        let Some(nets) = o
            .get("NetworkSettings")
            .and_then(|n| n.get("Networks"))
            .and_then(Value::as_object)
        else {
            return Err(src.err(
                1,
                format!(
                    "{}: not the JSON of {what}: entry {} has no \"NetworkSettings\".\"Networks\"",
                    src.flag,
                    k + 1
                ),
            ));
        };
        let name = s(o, "Name")
            .map(|n| n.trim_start_matches('/').to_string())
            .unwrap_or_else(|| format!("container{}", k + 1));
        let id = s(o, "Id").unwrap_or_default();
        for (net, e) in nets {
            if matches!(net.as_str(), "host" | "none") {
                other.push((name.clone(), net.clone()));
                continue;
            }
            let bad = |what: &str, t: &str| {
                src.err(
                    1,
                    format!("{}: container {name}: bad {what} `{t}`", src.flag),
                )
            };
            let ip = match s(e, "IPAddress") {
                Some(a) => {
                    let len = e.get("IPPrefixLen").and_then(Value::as_u64).unwrap_or(32);
                    let t = format!("{a}/{len}");
                    Some(Cidr::parse(&t).ok_or_else(|| bad("address", &t))?)
                }
                None => None,
            };
            let gateway = match s(e, "Gateway") {
                Some(t) => Some(t.parse().map_err(|_| bad("gateway", &t))?),
                None => None,
            };
            if let Some(m) = s(e, "MacAddress").filter(|m| !super::is_unicast_mac(m)) {
                return Err(bad("MAC", &m));
            }
            eps.push(Endpoint {
                container: name.clone(),
                container_id: id.clone(),
                network: net.clone(),
                network_id: s(e, "NetworkID").unwrap_or_default(),
                ip,
                mac: s(e, "MacAddress"),
                gateway,
                aliases: e
                    .get("Aliases")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
        if nets.is_empty() {
            other.push((name, "none".into()));
        }
    }
    Ok((eps, other))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_devices_are_named_as_docker_names_them() {
        let json = r#"[
  {"Name": "bridge", "Id": "155ece36f232aaaa", "Driver": "bridge", "IPAM": {"Config": [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]}, "Options": {}},
  {"Name": "app", "Id": "d9231d44a1ab7bc8", "Driver": "bridge", "IPAM": {"Config": [{"Subnet": "fd00::/64"}, {"Subnet": "172.18.0.0/16"}]},
   "Containers": {"272ba0e789b2ffff": {"Name": "web", "MacAddress": "96:00:76:49:ce:66", "IPv4Address": "172.18.0.2/16"}}},
  {"Name": "named", "Id": "0123456789abcdef", "Driver": "bridge", "IPAM": {"Config": []}, "Options": {"com.docker.network.bridge.name": "mybr", "com.docker.network.driver.mtu": "1450"}}
]"#;
        let (nets, eps) =
            parse_networks(&Source::new("--docker-network-inspect", "n", json)).unwrap();
        let devs: Vec<&str> = nets.iter().map(|n| n.device.as_str()).collect();
        assert_eq!(devs, ["docker0", "br-d9231d44a1ab", "mybr"]);
        assert_eq!(
            nets[1].subnet.map(|c| c.to_string()).as_deref(),
            Some("172.18.0.0/16")
        );
        assert_eq!(nets[2].mtu, Some(1450));
        assert_eq!(eps.len(), 1);
        assert_eq!(
            (eps[0].container.as_str(), eps[0].ip.unwrap().to_string()),
            ("web", "172.18.0.2/16".to_string())
        );
        let e = parse_networks(&Source::new("--docker-network-inspect", "n", "[{\"Name\": \"x\", \"Id\": \"y\", \"IPAM\": {\"Config\": [{\"Subnet\": \"172.18.0.0/33\"}]}}]")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "n:1: --docker-network-inspect: network x: bad subnet `172.18.0.0/33`"
        );
    }

    #[test]
    fn containers_in_host_mode_have_no_endpoint() {
        let json = r#"[{"Id": "a1", "Name": "/h", "NetworkSettings": {"Networks": {"host": {}}}},
                       {"Id": "b2", "Name": "/c", "NetworkSettings": {"Networks": {"app": {"IPAddress": "172.18.0.3", "IPPrefixLen": 16, "Gateway": "172.18.0.1", "Aliases": ["c", "api"]}}}}]"#;
        let (eps, other) = parse_containers(&Source::new("--docker-inspect", "c", json)).unwrap();
        assert_eq!(other, [("h".to_string(), "host".to_string())]);
        assert_eq!(eps[0].aliases, ["c", "api"]);
        assert_eq!(eps[0].gateway, Some("172.18.0.1".parse().unwrap()));
    }
}

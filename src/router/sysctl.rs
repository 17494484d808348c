//! `sysctl` on a router, as procps-ng 4.0.2's prints it: reading and writing the keys hoplab
//! models, `-a` listing them, a directory (`sysctl net.ipv4.conf.all`) listing what is under
//! it, `-r` picking keys by a regular expression, `-n`/`-N` values or names only.
//!
//! Only modelled keys are listed, in the kernel's order: `/proc/sys` lists a directory's
//! entries sorted by name, so `-a` is sorted component by component (`conf.all`,
//! `conf.default`, then the interfaces). A key the kernel has and hoplab does not model is
//! refused by name (as an unmodelled iptables match is), so it never reads as a typo; a key
//! the kernel does not have gets sysctl's own "cannot stat".
//!
//! The values themselves live in the router (`Router::sysctl`, which `sysctls:` in a lab also
//! uses); this file is the command around them.

use super::Router;

/// `sysctl`'s options and arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SysctlArgs {
    all: bool,
    pattern: Option<String>,
    names: bool,
    values: bool,
    ignore: bool,
    quiet: bool,
    write: bool,
    version: bool,
    items: Vec<String>,
}

impl SysctlArgs {
    /// The `KEY=VALUE` items, split and trimmed as sysctl writes them.
    pub fn writes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.items
            .iter()
            .filter_map(|i| i.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim()))
    }
}

const USAGE: &str = "\nUsage:\n sysctl [options] [variable[=value] ...]\n";

/// Parses sysctl's arguments (after `sysctl`).
pub fn parse(args: &[String]) -> Result<SysctlArgs, String> {
    let mut a = SysctlArgs {
        all: false,
        pattern: None,
        names: false,
        values: false,
        ignore: false,
        quiet: false,
        write: false,
        version: false,
        items: Vec::new(),
    };
    let not_modelled = |o: &str| match o {
        "-p" | "-f" | "--load" | "--system" => format!(
            "hoplab: sysctl {o} is not modelled: a router has no sysctl files; set keys with \
             `sysctl -w KEY=VALUE` or the router's `sysctls:`"
        ),
        _ => format!("hoplab: sysctl option {o} is not modelled"),
    };
    let mut it = args.iter();
    while let Some(w) = it.next() {
        if let Some(long) = w.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            match name {
                "all" => a.all = true,
                "values" => a.values = true,
                "names" => a.names = true,
                "ignore" => a.ignore = true,
                "quiet" => a.quiet = true,
                "write" => a.write = true,
                "version" => a.version = true,
                "pattern" => {
                    let p = match value {
                        Some(v) => v,
                        None => it.next().cloned().ok_or_else(|| {
                            format!("sysctl: option '--pattern' requires an argument{USAGE}")
                        })?,
                    };
                    a.pattern = Some(p);
                }
                "load" | "system" | "deprecated" | "dry-run" | "binary" | "help" => {
                    return Err(not_modelled(&format!("--{name}")));
                }
                _ => return Err(format!("sysctl: unrecognized option '{w}'{USAGE}")),
            }
            continue;
        }
        let Some(letters) = w.strip_prefix('-').filter(|l| !l.is_empty()) else {
            a.items.push(w.clone());
            continue;
        };
        let mut chars = letters.chars();
        while let Some(c) = chars.next() {
            match c {
                'a' | 'A' | 'X' => a.all = true,
                'n' => a.values = true,
                'N' => a.names = true,
                'e' => a.ignore = true,
                'q' => a.quiet = true,
                'w' => a.write = true,
                'V' => a.version = true,
                'o' | 'x' => {}
                'r' => {
                    let rest: String = chars.by_ref().collect();
                    let p = match rest.is_empty() {
                        false => rest,
                        true => it.next().cloned().ok_or_else(|| {
                            format!("sysctl: option requires an argument -- 'r'{USAGE}")
                        })?,
                    };
                    a.pattern = Some(p);
                }
                'p' | 'f' | 'b' | 'h' | 'd' => return Err(not_modelled(&format!("-{c}"))),
                other => return Err(format!("sysctl: invalid option -- '{other}'{USAGE}")),
            }
        }
    }
    if let Some(p) = &a.pattern {
        regex::Regex::new(p).map_err(|_| format!("sysctl: unable to parse pattern: {p}"))?;
    }
    if a.items.is_empty() && !a.all && !a.version {
        return Err(USAGE.trim_start().to_string());
    }
    Ok(a)
}

/// Per-interface (`net.ipv4.conf.DEV.NAME`) keys the kernel has.
const CONF: &str = "accept_local accept_redirects accept_source_route arp_accept arp_announce \
     arp_evict_nocarrier arp_filter arp_ignore arp_notify bc_forwarding bootp_relay \
     disable_policy disable_xfrm drop_gratuitous_arp drop_unicast_in_l2_multicast \
     force_igmp_version forwarding igmpv2_unsolicited_report_interval \
     igmpv3_unsolicited_report_interval ignore_routes_with_linkdown log_martians \
     mc_forwarding medium_id promote_secondaries proxy_arp proxy_arp_pvlan route_localnet \
     rp_filter secure_redirects send_redirects shared_media src_valid_mark tag";
/// Per-interface neighbour keys (`net.ipv4.neigh.DEV.NAME`) the kernel has.
const NEIGH: &str = "anycast_delay app_solicit base_reachable_time base_reachable_time_ms \
     delay_first_probe_time gc_stale_time interval_probe_time_ms locktime mcast_resolicit \
     mcast_solicit proxy_delay proxy_qlen retrans_time retrans_time_ms ucast_solicit \
     unres_qlen unres_qlen_bytes";
/// Other keys under `net.` the kernel has (Linux 6.x, with nf_conntrack and br_netfilter
/// loaded), without the `net.` prefix.
const KNOWN: &str = "bridge.bridge-nf-call-arptables bridge.bridge-nf-call-ip6tables \
     bridge.bridge-nf-call-iptables bridge.bridge-nf-filter-pppoe-tagged \
     bridge.bridge-nf-filter-vlan-tagged bridge.bridge-nf-pass-vlan-input-dev core.optmem_max \
     core.rmem_default core.rmem_max core.rps_default_mask core.somaxconn \
     core.tstamp_allow_data core.txrehash core.wmem_default core.wmem_max \
     core.xfrm_acq_expires core.xfrm_aevent_etime core.xfrm_aevent_rseqth \
     core.xfrm_larval_drop ipv4.fib_multipath_hash_fields ipv4.fib_multipath_hash_policy \
     ipv4.fib_multipath_hash_seed ipv4.fib_multipath_use_neigh ipv4.fib_notify_on_flag_change \
     ipv4.fwmark_reflect ipv4.icmp_echo_enable_probe ipv4.icmp_echo_ignore_all \
     ipv4.icmp_echo_ignore_broadcasts ipv4.icmp_errors_use_inbound_ifaddr \
     ipv4.icmp_ignore_bogus_error_responses ipv4.icmp_msgs_burst ipv4.icmp_msgs_per_sec \
     ipv4.icmp_ratelimit ipv4.icmp_ratemask ipv4.igmp_link_local_mcast_reports \
     ipv4.igmp_max_memberships ipv4.igmp_max_msf ipv4.igmp_qrv ipv4.ip_autobind_reuse \
     ipv4.ip_default_ttl ipv4.ip_dynaddr ipv4.ip_early_demux ipv4.ip_forward \
     ipv4.ip_forward_update_priority ipv4.ip_forward_use_pmtu ipv4.ip_local_port_range \
     ipv4.ip_local_reserved_ports ipv4.ip_no_pmtu_disc ipv4.ip_nonlocal_bind \
     ipv4.ip_unprivileged_port_start ipv4.ipfrag_high_thresh ipv4.ipfrag_low_thresh \
     ipv4.ipfrag_max_dist ipv4.ipfrag_time ipv4.nexthop_compat_mode ipv4.ping_group_range \
     ipv4.raw_l3mdev_accept ipv4.tcp_abort_on_overflow ipv4.tcp_adv_win_scale \
     ipv4.tcp_allowed_congestion_control ipv4.tcp_app_win ipv4.tcp_autocorking \
     ipv4.tcp_available_congestion_control ipv4.tcp_backlog_ack_defer ipv4.tcp_base_mss \
     ipv4.tcp_challenge_ack_limit ipv4.tcp_child_ehash_entries ipv4.tcp_comp_sack_delay_ns \
     ipv4.tcp_comp_sack_nr ipv4.tcp_comp_sack_slack_ns ipv4.tcp_congestion_control \
     ipv4.tcp_dsack ipv4.tcp_early_demux ipv4.tcp_early_retrans ipv4.tcp_ecn \
     ipv4.tcp_ecn_fallback ipv4.tcp_ecn_option ipv4.tcp_ecn_option_beacon \
     ipv4.tcp_ehash_entries ipv4.tcp_fack ipv4.tcp_fastopen \
     ipv4.tcp_fastopen_blackhole_timeout_sec ipv4.tcp_fastopen_key ipv4.tcp_fin_timeout \
     ipv4.tcp_frto ipv4.tcp_fwmark_accept ipv4.tcp_invalid_ratelimit ipv4.tcp_keepalive_intvl \
     ipv4.tcp_keepalive_probes ipv4.tcp_keepalive_time ipv4.tcp_l3mdev_accept \
     ipv4.tcp_limit_output_bytes ipv4.tcp_max_reordering ipv4.tcp_max_syn_backlog \
     ipv4.tcp_max_tw_buckets ipv4.tcp_migrate_req ipv4.tcp_min_rtt_wlen ipv4.tcp_min_snd_mss \
     ipv4.tcp_min_tso_segs ipv4.tcp_moderate_rcvbuf ipv4.tcp_mtu_probe_floor \
     ipv4.tcp_mtu_probing ipv4.tcp_no_metrics_save ipv4.tcp_no_ssthresh_metrics_save \
     ipv4.tcp_notsent_lowat ipv4.tcp_orphan_retries ipv4.tcp_pacing_ca_ratio \
     ipv4.tcp_pacing_ss_ratio ipv4.tcp_pingpong_thresh ipv4.tcp_plb_cong_thresh \
     ipv4.tcp_plb_enabled ipv4.tcp_plb_idle_rehash_rounds ipv4.tcp_plb_rehash_rounds \
     ipv4.tcp_plb_suspend_rto_sec ipv4.tcp_probe_interval ipv4.tcp_probe_threshold \
     ipv4.tcp_recovery ipv4.tcp_reflect_tos ipv4.tcp_reordering ipv4.tcp_retrans_collapse \
     ipv4.tcp_retries1 ipv4.tcp_retries2 ipv4.tcp_rfc1337 ipv4.tcp_rmem ipv4.tcp_rto_max_ms \
     ipv4.tcp_rto_min_us ipv4.tcp_sack ipv4.tcp_shrink_window ipv4.tcp_slow_start_after_idle \
     ipv4.tcp_stdurg ipv4.tcp_syn_linear_timeouts ipv4.tcp_syn_retries \
     ipv4.tcp_synack_retries ipv4.tcp_syncookies ipv4.tcp_thin_linear_timeouts \
     ipv4.tcp_timestamps ipv4.tcp_tso_rtt_log ipv4.tcp_tso_win_divisor ipv4.tcp_tw_reuse \
     ipv4.tcp_tw_reuse_delay ipv4.tcp_window_scaling ipv4.tcp_wmem \
     ipv4.tcp_workaround_signed_windows ipv4.udp_child_hash_entries ipv4.udp_early_demux \
     ipv4.udp_hash_entries ipv4.udp_l3mdev_accept ipv4.udp_rmem_min ipv4.udp_wmem_min \
     ipv4.xfrm4_gc_thresh netfilter.nf_conntrack_acct netfilter.nf_conntrack_buckets \
     netfilter.nf_conntrack_checksum netfilter.nf_conntrack_count \
     netfilter.nf_conntrack_events netfilter.nf_conntrack_expect_max \
     netfilter.nf_conntrack_frag6_high_thresh netfilter.nf_conntrack_frag6_low_thresh \
     netfilter.nf_conntrack_frag6_timeout netfilter.nf_conntrack_generic_timeout \
     netfilter.nf_conntrack_gre_timeout netfilter.nf_conntrack_gre_timeout_stream \
     netfilter.nf_conntrack_icmp_timeout netfilter.nf_conntrack_icmpv6_timeout \
     netfilter.nf_conntrack_log_invalid netfilter.nf_conntrack_max \
     netfilter.nf_conntrack_sctp_timeout_closed \
     netfilter.nf_conntrack_sctp_timeout_cookie_echoed \
     netfilter.nf_conntrack_sctp_timeout_cookie_wait \
     netfilter.nf_conntrack_sctp_timeout_established \
     netfilter.nf_conntrack_sctp_timeout_heartbeat_sent \
     netfilter.nf_conntrack_sctp_timeout_shutdown_ack_sent \
     netfilter.nf_conntrack_sctp_timeout_shutdown_recd \
     netfilter.nf_conntrack_sctp_timeout_shutdown_sent netfilter.nf_conntrack_tcp_be_liberal \
     netfilter.nf_conntrack_tcp_ignore_invalid_rst netfilter.nf_conntrack_tcp_loose \
     netfilter.nf_conntrack_tcp_max_retrans netfilter.nf_conntrack_tcp_timeout_close \
     netfilter.nf_conntrack_tcp_timeout_close_wait \
     netfilter.nf_conntrack_tcp_timeout_established \
     netfilter.nf_conntrack_tcp_timeout_fin_wait netfilter.nf_conntrack_tcp_timeout_last_ack \
     netfilter.nf_conntrack_tcp_timeout_max_retrans \
     netfilter.nf_conntrack_tcp_timeout_syn_recv netfilter.nf_conntrack_tcp_timeout_syn_sent \
     netfilter.nf_conntrack_tcp_timeout_time_wait \
     netfilter.nf_conntrack_tcp_timeout_unacknowledged netfilter.nf_conntrack_timestamp \
     netfilter.nf_conntrack_udp_timeout netfilter.nf_conntrack_udp_timeout_stream \
     netfilter.nf_hooks_lwtunnel netfilter.nf_log.0 netfilter.nf_log.1 netfilter.nf_log.10 \
     netfilter.nf_log.2 netfilter.nf_log.3 netfilter.nf_log.4 netfilter.nf_log.5 \
     netfilter.nf_log.6 netfilter.nf_log.7 netfilter.nf_log.8 netfilter.nf_log.9 \
     unix.max_dgram_qlen";

/// How an item's key stands.
enum Lookup {
    /// A key hoplab models, under its internal name (interface names with their dots).
    Key(String),
    /// A directory: the modelled keys under it.
    Dir(Vec<String>),
    /// A key the kernel has and hoplab does not model.
    NotModelled,
    Missing,
}

impl Router {
    /// Runs `sysctl` with these arguments: its exit status and what it printed.
    pub fn sysctl_run(&mut self, a: &SysctlArgs) -> (i32, String) {
        if a.version {
            return (0, "sysctl from procps-ng 4.0.2\n".into());
        }
        let pattern = a.pattern.as_deref().and_then(|p| regex::Regex::new(p).ok());
        let shown = |k: &str| pattern.as_ref().is_none_or(|p| p.is_match(&display(k)));
        let mut out = String::new();
        let mut status = 0;
        if a.all {
            for key in self.sysctl_keys().into_iter().filter(|k| shown(k)) {
                let value = self.sysctl_value(&key);
                print(&mut out, a, &display(&key), &value);
            }
            return (status, out);
        }
        for item in &a.items {
            if let Some((key, value)) = item.split_once('=') {
                let (key, value) = (key.trim(), value.trim());
                match self.sysctl_lookup(key) {
                    Lookup::Key(k) => match self.sysctl_write(&k, value) {
                        Ok(()) if a.quiet => {}
                        Ok(()) => print(&mut out, a, key, value),
                        Err(code) => {
                            out += &format!("sysctl: setting key \"{key}\": Invalid argument\n");
                            status = status.max(code);
                        }
                    },
                    other => status = status.max(missing(&mut out, a, key, &other)),
                }
                continue;
            }
            if a.write {
                out += &format!("sysctl: \"{item}\" must be of the form name=value\n");
                status = 1;
                continue;
            }
            match self.sysctl_lookup(item) {
                Lookup::Key(k) => {
                    let value = self.sysctl_value(&k);
                    print(&mut out, a, item, &value);
                }
                Lookup::Dir(keys) => {
                    for k in keys.into_iter().filter(|k| shown(k)) {
                        let value = self.sysctl_value(&k);
                        print(&mut out, a, &display(&k), &value);
                    }
                }
                other => status = status.max(missing(&mut out, a, item, &other)),
            }
        }
        (status, out)
    }

    /// The keys hoplab models, in the kernel's order.
    fn sysctl_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = [
            "net.bridge.bridge-nf-call-ip6tables",
            "net.bridge.bridge-nf-call-iptables",
            "net.ipv4.conf.all.arp_ignore",
            "net.ipv4.conf.all.forwarding",
            "net.ipv4.conf.all.route_localnet",
            "net.ipv4.conf.all.rp_filter",
            "net.ipv4.conf.default.arp_ignore",
            "net.ipv4.conf.default.rp_filter",
            "net.ipv4.ip_forward",
            "net.ipv6.conf.all.forwarding",
            "net.netfilter.nf_conntrack_count",
            "net.netfilter.nf_conntrack_max",
            "net.nf_conntrack_max",
        ]
        .map(String::from)
        .into();
        for (f, _) in self
            .ns
            .ifaces
            .iter()
            .zip(&self.ns.links)
            .filter(|(_, l)| !l.gone)
        {
            for name in ["arp_ignore", "route_localnet", "rp_filter"] {
                keys.push(format!("net.ipv4.conf.{}.{name}", f.name));
            }
        }
        // `/proc/sys` sorts each directory's entries by name (`namecmp`: bytes, then length).
        keys.sort_by(|a, b| components(a).cmp(&components(b)));
        keys
    }

    /// Finds what a key names; `key` as typed (an interface's dots as `/`).
    fn sysctl_lookup(&self, key: &str) -> Lookup {
        let keys = self.sysctl_keys();
        let internal = internal(
            key,
            &self
                .ns
                .ifaces
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>(),
        );
        if keys.contains(&internal) {
            return Lookup::Key(internal);
        }
        let under: Vec<String> = keys
            .iter()
            .filter(|k| {
                let (kc, ic) = (components(k), components(&internal));
                kc.len() > ic.len() && kc[..ic.len()] == ic[..]
            })
            .cloned()
            .collect();
        if !under.is_empty() {
            return Lookup::Dir(under);
        }
        let c = components(&internal);
        let dev_ok = |d: &str| matches!(d, "all" | "default" | "lo") || self.live_link(d).is_some();
        let known = match c.as_slice() {
            ["net", "ipv6", ..] => true,
            ["net", "ipv4", "conf", dev, name] => {
                dev_ok(dev) && CONF.split_whitespace().any(|n| n == *name)
            }
            ["net", "ipv4", "neigh", dev, name] => {
                dev_ok(dev) && NEIGH.split_whitespace().any(|n| n == *name)
            }
            ["net", "ipv4", "route", _] => true,
            ["net", ..] => KNOWN
                .split_whitespace()
                .any(|k| Some(k) == internal.strip_prefix("net.")),
            _ => false,
        };
        match known {
            true => Lookup::NotModelled,
            false => Lookup::Missing,
        }
    }

    /// A modelled key's value, as `Router::sysctl` reads it.
    fn sysctl_value(&mut self, key: &str) -> String {
        let key = match key {
            // The same variable: writing either writes both, as `devinet_sysctl_forward` does.
            "net.ipv4.conf.all.forwarding" => "net.ipv4.ip_forward",
            k => k,
        };
        self.sysctl(key, None)
            .ok()
            .and_then(|line| {
                line.trim_end()
                    .split_once(" = ")
                    .map(|(_, v)| v.to_string())
            })
            .unwrap_or_default()
    }

    /// Writes a modelled key; the error is sysctl's exit status: 1 for a value that is not
    /// a number, 0 for a number the kernel refuses (as procps-ng 4.0.2 exits).
    fn sysctl_write(&mut self, key: &str, value: &str) -> Result<(), i32> {
        let Ok(n) = value.parse::<i32>() else {
            return Err(1);
        };
        let flag = matches!(
            key.rsplit('.').next(),
            Some(
                "ip_forward"
                    | "forwarding"
                    | "route_localnet"
                    | "bridge-nf-call-iptables"
                    | "bridge-nf-call-ip6tables"
            )
        );
        // These are plain integers in the kernel, any non-zero one turning the switch on;
        // hoplab keeps the switch, so it reads back 1.
        let value = match flag {
            true => u8::from(n != 0).to_string(),
            false => value.to_string(),
        };
        let key = match key {
            "net.ipv4.conf.all.forwarding" => "net.ipv4.ip_forward",
            k => k,
        };
        self.sysctl(key, Some(&value)).map(|_| ()).map_err(|_| 0)
    }
}

/// A key's components, an interface's name (which may hold dots) kept whole.
fn components(key: &str) -> Vec<&str> {
    let mut c: Vec<&str> = Vec::new();
    let mut rest = key;
    for prefix in ["net.ipv4.conf.", "net.ipv4.neigh."] {
        if let Some(tail) = key.strip_prefix(prefix) {
            c.extend(prefix.trim_end_matches('.').split('.'));
            match tail.rsplit_once('.') {
                Some((dev, name)) => {
                    c.push(dev);
                    c.push(name);
                }
                None => c.push(tail),
            }
            return c;
        }
    }
    while let Some((head, tail)) = rest.split_once('.') {
        c.push(head);
        rest = tail;
    }
    c.push(rest);
    c
}

/// A key as sysctl prints it: dots in an interface's name become `/`, as in `/proc/sys`.
fn display(key: &str) -> String {
    let c = components(key);
    c.iter()
        .map(|p| p.replace('.', "/"))
        .collect::<Vec<_>>()
        .join(".")
}

/// A key as typed, with the interface component back in its own name (`eth0/10` is
/// `eth0.10`).
fn internal(key: &str, ifaces: &[&str]) -> String {
    for prefix in ["net.ipv4.conf.", "net.ipv4.neigh."] {
        if let Some(tail) = key.strip_prefix(prefix) {
            let (dev, name) = tail.rsplit_once('.').unwrap_or((tail, ""));
            let dev = dev.replace('/', ".");
            if ifaces.contains(&dev.as_str()) || name.is_empty() {
                return match name {
                    "" => format!("{prefix}{dev}"),
                    n => format!("{prefix}{dev}.{n}"),
                };
            }
        }
    }
    key.to_string()
}

fn print(out: &mut String, a: &SysctlArgs, key: &str, value: &str) {
    match (a.names, a.values) {
        (true, _) => *out += &format!("{key}\n"),
        (false, true) => *out += &format!("{value}\n"),
        (false, false) => *out += &format!("{key} = {value}\n"),
    }
}

impl Router {
    /// `cat /proc/sys/PATH` (`value` None) or `echo VALUE > /proc/sys/PATH`, as the shell
    /// and the file would answer: the value, or nothing; the file's errors.
    pub(super) fn proc_sys(&mut self, key: &str, value: Option<&str>) -> (i32, String) {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        let args: Vec<String> = match value {
            None => vec!["-n".into(), key.into()],
            Some(v) => vec!["-q".into(), "-w".into(), format!("{key}={v}")],
        };
        let Ok(args) = parse(&args) else {
            return (1, format!("cat: {path}: No such file or directory\n"));
        };
        match (self.sysctl_run(&args), value) {
            ((0, out), _) => (0, out),
            ((code, out), _) if out.contains("not modelled") => (code, out),
            (_, None) => (1, format!("cat: {path}: No such file or directory\n")),
            (_, Some(_)) => (
                2,
                format!("sh: 1: cannot create {path}: Directory nonexistent\n"),
            ),
        }
    }
}

/// Says a key is not there (sysctl's message) or not modelled (hoplab's); its status.
fn missing(out: &mut String, a: &SysctlArgs, key: &str, how: &Lookup) -> i32 {
    match how {
        Lookup::NotModelled => {
            *out += &format!("hoplab: sysctl {key} is not modelled\n");
            i32::from(!a.ignore)
        }
        _ if a.ignore => 0,
        _ => {
            *out += &format!(
                "sysctl: cannot stat /proc/sys/{}: No such file or directory\n",
                key.replace('.', "/")
            );
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<SysctlArgs, String> {
        parse(&s.split_whitespace().map(String::from).collect::<Vec<_>>())
    }

    #[test]
    fn options_as_procps_reads_them() {
        let a = args("-a -r forward").unwrap();
        assert!(a.all && a.pattern.as_deref() == Some("forward"));
        let a = args("-nr^net.ipv4 net").unwrap();
        assert!(a.values && a.pattern.as_deref() == Some("^net.ipv4"));
        assert_eq!(a.items, vec!["net"]);
        let a = args("-w net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter= 2").unwrap();
        assert_eq!(
            a.writes().collect::<Vec<_>>(),
            vec![
                ("net.ipv4.ip_forward", "1"),
                ("net.ipv4.conf.all.rp_filter", "")
            ]
        );
        assert!(args("").unwrap_err().starts_with("Usage:"));
        assert!(
            args("-k x")
                .unwrap_err()
                .starts_with("sysctl: invalid option -- 'k'")
        );
        assert!(args("-p").unwrap_err().contains("no sysctl files"));
        assert!(
            args("-a -r (")
                .unwrap_err()
                .contains("unable to parse pattern")
        );
    }

    #[test]
    fn keys_sort_as_proc_sys_lists_them() {
        // An interface's name is one component, dots and all; `/proc/sys` shows them as `/`.
        let mut keys = vec![
            "net.ipv4.ip_forward",
            "net.ipv4.conf.eth0.10.rp_filter",
            "net.ipv4.conf.eth0.rp_filter",
            "net.ipv4.conf.all.rp_filter",
            "net.nf_conntrack_max",
            "net.netfilter.nf_conntrack_max",
            "net.bridge.bridge-nf-call-iptables",
        ];
        keys.sort_by(|a, b| components(a).cmp(&components(b)));
        assert_eq!(
            keys,
            [
                "net.bridge.bridge-nf-call-iptables",
                "net.ipv4.conf.all.rp_filter",
                "net.ipv4.conf.eth0.rp_filter",
                "net.ipv4.conf.eth0.10.rp_filter",
                "net.ipv4.ip_forward",
                "net.netfilter.nf_conntrack_max",
                "net.nf_conntrack_max",
            ]
        );
        assert_eq!(
            display("net.ipv4.conf.eth0.10.rp_filter"),
            "net.ipv4.conf.eth0/10.rp_filter"
        );
        assert_eq!(
            internal("net.ipv4.conf.eth0/10.rp_filter", &["eth0.10"]),
            "net.ipv4.conf.eth0.10.rp_filter"
        );
    }
}

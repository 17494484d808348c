//! `hoplab import`: reads the dump files and writes the lab (standard output or `-o`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hoplab::import::{self, Inputs, Source};

#[derive(clap::Args)]
pub(crate) struct ImportArgs {
    /// What `ip addr` (or `ip -j addr`) printed on the host.
    #[arg(long, value_name = "FILE")]
    ip_addr: PathBuf,
    /// What `ip route` (or `ip -j route`) printed.
    #[arg(long, value_name = "FILE")]
    ip_route: PathBuf,
    /// What `ip -6 route` (or `ip -j -6 route`) printed.
    #[arg(long, value_name = "FILE")]
    ip6_route: Option<PathBuf>,
    /// What `ip rule` (or `ip -j rule`) printed.
    #[arg(long, value_name = "FILE")]
    ip_rule: Option<PathBuf>,
    /// What `iptables-save` printed.
    #[arg(long, value_name = "FILE")]
    iptables_save: Option<PathBuf>,
    /// What `iptables [-t TABLE] -nL`, `-nvL` or `-S` printed (several tables one after the
    /// other; a `# table: nat` line names the next one). Used when there is no --iptables-save.
    #[arg(long, value_name = "FILE")]
    iptables_list: Vec<PathBuf>,
    /// What `nft list ruleset` printed (its iptables-nft tables are left to --iptables-save).
    #[arg(long, value_name = "FILE")]
    nft_ruleset: Option<PathBuf>,
    /// What `docker inspect CONTAINER...` printed (repeatable).
    #[arg(long, value_name = "FILE")]
    docker_inspect: Vec<PathBuf>,
    /// What `docker network inspect NETWORK...` printed (repeatable).
    #[arg(long, value_name = "FILE")]
    docker_network_inspect: Vec<PathBuf>,
    /// Write the lab here instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The lab's name (default: imported).
    #[arg(long)]
    name: Option<String>,
}

fn read(flag: &'static str, path: &Path) -> Result<Source, ExitCode> {
    let shown = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Ok(Source::new(flag, shown, text)),
            Err(e) => {
                let bytes = e.as_bytes();
                let at = e.utf8_error().valid_up_to();
                let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
                errln!("{shown}:{line}: {flag}: not UTF-8 text (byte {at})");
                Err(ExitCode::from(2))
            }
        },
        Err(e) => {
            errln!("{shown}:0: {flag}: cannot read: {e}");
            Err(ExitCode::from(2))
        }
    }
}

pub(crate) fn run(a: &ImportArgs) -> ExitCode {
    let inputs = match (|| -> Result<Inputs, ExitCode> {
        let many = |flag: &'static str, v: &[PathBuf]| {
            v.iter()
                .map(|p| read(flag, p))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Inputs {
            ip_addr: Some(read("--ip-addr", &a.ip_addr)?),
            ip_route: Some(read("--ip-route", &a.ip_route)?),
            ip6_route: a
                .ip6_route
                .as_deref()
                .map(|p| read("--ip6-route", p))
                .transpose()?,
            ip_rule: a
                .ip_rule
                .as_deref()
                .map(|p| read("--ip-rule", p))
                .transpose()?,
            iptables_save: a
                .iptables_save
                .as_deref()
                .map(|p| read("--iptables-save", p))
                .transpose()?,
            iptables_list: many("--iptables-list", &a.iptables_list)?,
            nft_ruleset: a
                .nft_ruleset
                .as_deref()
                .map(|p| read("--nft-ruleset", p))
                .transpose()?,
            docker_inspect: many("--docker-inspect", &a.docker_inspect)?,
            docker_network_inspect: many("--docker-network-inspect", &a.docker_network_inspect)?,
            name: a.name.clone(),
        })
    })() {
        Ok(i) => i,
        Err(c) => return c,
    };
    let lab = match import::import(&inputs) {
        Ok(l) => l,
        Err(e) => {
            errln!("{e}");
            return ExitCode::from(2);
        }
    };
    match &a.output {
        Some(p) => match std::fs::write(p, &lab.yaml) {
            Ok(()) => {
                errln!(
                    "hoplab import: wrote {} ({} things not imported, {} approximated: see its about)",
                    p.display(),
                    lab.not_imported.len(),
                    lab.approximated.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                errln!("hoplab import: cannot write {}: {e}", p.display());
                ExitCode::from(2)
            }
        },
        None => {
            out!("{}", lab.yaml);
            ExitCode::SUCCESS
        }
    }
}

//! JSON Schemas of what hoplab reads and writes, derived from the serde types with `schemars`:
//! [`lab_schema`] for lab files (`raw::RawLab`: the YAML as users write it, short forms
//! included), [`run_schema`] for `hoplab run --json` (`run::RunReport`) and [`test_schema`]
//! for `hoplab test --json` (`grade::TestReport`). The copies shipped
//! in `schemas/` are regenerated and compared by `tests/schemas.rs`.
//!
//! Both are JSON Schema draft 7, not schemars' default 2020-12: draft 7 is what
//! yaml-language-server (and VS Code's JSON support) validates and completes with; later drafts
//! are supported only in part there.

use schemars::Schema;
use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;

use super::grade::TestReport;
use super::raw::RawLab;
use super::run::RunReport;

/// The schema of a lab file. Unknown fields are refused (`additionalProperties: false`), as the
/// loader refuses them.
pub fn lab_schema() -> serde_json::Value {
    SchemaSettings::draft07()
        .for_deserialize()
        .with_transform(RecursiveTransform(drop_null_default))
        .into_generator()
        .into_root_schema_for::<RawLab>()
        .to_value()
}

/// The schema of `hoplab run --json`'s output. Every object is closed
/// (`additionalProperties: false`), so a field added to the report without regenerating the
/// schema fails validation instead of passing unseen.
pub fn run_schema() -> serde_json::Value {
    SchemaSettings::draft07()
        .for_serialize()
        .with_transform(RecursiveTransform(close_object))
        .into_generator()
        .into_root_schema_for::<RunReport>()
        .to_value()
}

/// The schema of `hoplab test --json`'s output, closed as [`run_schema`]'s; each lab's
/// `report` is a run report.
pub fn test_schema() -> serde_json::Value {
    SchemaSettings::draft07()
        .for_serialize()
        .with_transform(RecursiveTransform(close_object))
        .into_generator()
        .into_root_schema_for::<TestReport>()
        .to_value()
}

/// Removes `default: null` (what an optional field's `#[serde(default)]` derives): an editor
/// completing the field would insert `null`, and "absent" needs no saying.
fn drop_null_default(schema: &mut Schema) {
    if let Some(obj) = schema.as_object_mut()
        && obj.get("default").is_some_and(serde_json::Value::is_null)
    {
        obj.remove("default");
    }
}

/// Adds `additionalProperties: false` to a struct's schema (one with `properties`) that does
/// not say otherwise. Maps (`additionalProperties: {...}`) are left open.
fn close_object(schema: &mut Schema) {
    if let Some(obj) = schema.as_object_mut()
        && obj.contains_key("properties")
        && !obj.contains_key("additionalProperties")
    {
        obj.insert("additionalProperties".into(), false.into());
    }
}

/// Shapes of values the serde types hold as plain strings or numbers, named for the schema
/// only (`#[schemars(with = "...")]` on the fields). The loader checks these values itself,
/// with located errors; each enum here lists exactly what that check accepts, so an editor can
/// offer the choices.
#[allow(
    dead_code,
    reason = "only these types' schemas are used: no value of them is ever made"
)]
pub(crate) mod forms {
    use schemars::{JsonSchema, JsonSchema_repr};

    /// A duration: `500ms`, `2s`, `1.5s`, `2m`, `1h` (units ns, us, ms, s, m, h); a bare
    /// number is seconds.
    #[derive(JsonSchema)]
    #[schemars(untagged)]
    pub enum Duration {
        Text(String),
        Seconds(f64),
    }

    /// A rate: `100Mbit`, `1Gbit`, `64kbit`, `10Mbps`; a bare number is bits per second.
    #[derive(JsonSchema)]
    #[schemars(untagged)]
    pub enum Rate {
        Text(String),
        BitsPerSecond(f64),
    }

    /// A published port, as `docker run -p` reads it: `[IP:]HOST:CTR[/tcp|udp]`, or `CTR`
    /// alone for an ephemeral host port from 32768-60999.
    #[derive(JsonSchema)]
    #[schemars(untagged)]
    pub enum Publish {
        Mapping(String),
        ContainerPort(u16),
    }

    /// The lab format's version: this hoplab reads version 1.
    #[derive(JsonSchema_repr)]
    #[repr(u8)]
    pub enum Version {
        V1 = 1,
    }

    /// Which capture files a run writes: `none`, `merged` (one `all.pcapng` with every
    /// point, each frame written once; the default), `split` (one pcap per capture point) or
    /// `both`. `hoplab split all.pcapng DIR` writes the per-point pcaps afterwards.
    #[derive(JsonSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum Captures {
        None,
        Merged,
        Split,
        Both,
    }

    /// What the lab needs of the machine that runs it.
    #[derive(JsonSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum Requirement {
        NetAdmin,
    }

    /// A link end's new state.
    #[derive(JsonSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum LinkState {
        Up,
        Down,
    }

    /// Which iptables the listings imitate: `1.8.10` (default) or `1.8.9` (as Debian 12
    /// prints them: protocol numbers).
    #[derive(JsonSchema)]
    pub enum IptablesVersion {
        #[serde(rename = "1.8.10")]
        V1_8_10,
        #[serde(rename = "1.8.9")]
        V1_8_9,
    }

    /// Which nft the `nft list` output imitates: `1.0.6` (default, Debian 12) or `1.1` (nft
    /// 1.1.x, Debian 13).
    #[derive(JsonSchema)]
    pub enum NftVersion {
        #[serde(rename = "1.0.6")]
        V1_0_6,
        #[serde(rename = "1.1")]
        V1_1,
    }

    /// The Docker Engine release whose rules, chains and MACs the host gets: 29 (default),
    /// 28 or 27.
    #[derive(JsonSchema_repr)]
    #[repr(u8)]
    pub enum Engine {
        V27 = 27,
        V28 = 28,
        V29 = 29,
    }

    /// daemon.json's `firewall-backend`: `iptables` (default) or `nftables` (engine 29).
    #[derive(JsonSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum FirewallBackend {
        Iptables,
        Nftables,
    }

    /// `com.docker.network.bridge.gateway_mode_ipv4`: `nat` (default), `nat-unprotected` or
    /// `routed`.
    #[derive(JsonSchema)]
    #[serde(rename_all = "kebab-case")]
    pub enum GatewayMode {
        Nat,
        NatUnprotected,
        Routed,
    }

    /// What a step did: `run` a command, `show` a listing, set a `link` up or down, or set
    /// an `exercise` (the student's commands follow it as `run` steps).
    #[derive(JsonSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum StepKind {
        Run,
        Show,
        Link,
        Exercise,
    }
}

//! The chart's Argo CD health check, run by a real Lua interpreter (Lua 5.1, the dialect of
//! Argo CD's gopher-lua) against every status in [`super::scenarios`].

use mlua::{Lua, LuaSerdeExt, Table};

use super::scenarios;

const SCRIPT: &str = include_str!("../../../../charts/layer-operator/files/argocd-health.lua");

fn health(lua: &Lua, obj: &serde_json::Value) -> (String, String) {
    let value = lua.to_value(obj).unwrap();
    lua.globals().set("obj", value).unwrap();
    let hs: Table = lua.load(SCRIPT).eval().unwrap();
    (
        hs.get("status").unwrap(),
        hs.get::<Option<String>>("message")
            .unwrap()
            .unwrap_or_default(),
    )
}

/// What the issue asks for, computed independently of the script.
fn expected(obj: &serde_json::Value) -> &'static str {
    let conds = obj["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let is_true = |t: &str| {
        conds
            .iter()
            .any(|c| c["type"] == t && c["status"] == "True")
    };
    let current = obj["status"]["observedGeneration"] == obj["metadata"]["generation"];
    if !current {
        "Progressing"
    } else if is_true("Stalled") {
        "Degraded"
    } else if is_true("Ready") {
        "Healthy"
    } else {
        "Progressing"
    }
}

#[test]
fn the_health_check_maps_every_status_the_syncer_writes() {
    let lua = Lua::new();
    let mut seen = std::collections::BTreeSet::new();
    for s in scenarios::all() {
        let (status, message) = health(&lua, &s.object);
        assert_eq!(status, expected(&s.object), "{}: {message}", s.name);
        assert!(!message.is_empty(), "{}: empty message", s.name);
        seen.insert(status);
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["Degraded", "Healthy", "Progressing"]
    );
}

#[test]
fn stalled_shows_the_stalled_message_and_ready_the_ready_one() {
    let lua = Lua::new();
    let all = scenarios::all();
    let stalled = all
        .iter()
        .find(|s| s.name == "Pipeline UnknownPool (stalled)")
        .unwrap();
    let (status, message) = health(&lua, &stalled.object);
    assert_eq!(status, "Degraded");
    assert!(message.contains("selects pool \"cpu\""), "{message}");
    let fresh = all
        .iter()
        .find(|s| s.name == "Pipeline without status")
        .unwrap();
    assert_eq!(
        health(&lua, &fresh.object),
        (
            "Progressing".into(),
            "Waiting for layer-syncer to report status".into()
        )
    );
}

//! `worker.podSpec` merges exactly as `kubectl patch --local --type strategic` merges a PodSpec:
//! generated (pod spec, patch) pairs go through render's merge and through the real kubectl,
//! and must agree. Every patch is applied by kubectl to a `List` of Deployments, one per pod
//! spec, so a few kubectl calls check hundreds of pairs.

use std::process::Command;

use layer_render::expand::podspec::{self, ErrorKind};
use layer_render::load::{Limits, load_str};
use layer_render::render::{RenderOptions, render_json};
use serde_json::{Map, Value, json};

use crate::tools::{repo_root, run, tool};

/// A small deterministic generator (SplitMix64), so a failure always reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True `percent` times in a hundred.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// Up to `max` distinct items of `items`, in a random order.
    fn some<T: Copy>(&mut self, items: &[T], max: usize) -> Vec<T> {
        let mut pool = items.to_vec();
        let mut out = Vec::new();
        for _ in 0..self.below(max + 1).min(pool.len()) {
            let i = self.below(pool.len());
            out.push(pool.remove(i));
        }
        out
    }
}

const CONTAINERS: &[&str] = &["worker", "udf", "sidecar"];
const ENV: &[&str] = &["A", "B", "C", "D"];
const PORTS: &[u64] = &[80, 8080, 9090];
const PORT_NAMES: &[&str] = &["http", "metrics"];
const MOUNTS: &[&str] = &["/data", "/tmp", "/cache"];
const DEVICES: &[&str] = &["/dev/xvda", "/dev/xvdb"];
const VOLUMES: &[&str] = &["data", "tmp", "cache"];
const SECRETS: &[&str] = &["regcred", "mirror"];
const IPS: &[&str] = &["10.0.0.1", "10.0.0.2"];
const TOPOLOGY_KEYS: &[&str] = &["topology.kubernetes.io/zone", "kubernetes.io/hostname"];
const CLAIMS: &[&str] = &["gpu", "fpga"];
const GATES: &[&str] = &["quota", "review"];
const FINALIZERS: &[&str] = &["a.example/x", "b.example/y", "c.example/z"];
const OWNER_UIDS: &[&str] = &["u1", "u2"];
const WORDS: &[&str] = &["x", "y", "z"];

fn env_var(rng: &mut Rng, name: &str) -> Value {
    if rng.chance(30) {
        json!({"name": name, "valueFrom": {"secretKeyRef": {"name": rng.pick(WORDS), "key": "k"}}})
    } else {
        json!({"name": name, "value": rng.pick(WORDS)})
    }
}

fn base_container(rng: &mut Rng, name: &str) -> Value {
    let mut c = json!({"name": name, "image": format!("{name}:{}", rng.pick(WORDS))});
    let env: Vec<Value> = rng
        .some(ENV, 3)
        .into_iter()
        .map(|n| env_var(rng, n))
        .collect();
    if !env.is_empty() {
        c["env"] = Value::Array(env);
    }
    let ports: Vec<Value> = rng
        .some(PORTS, 2)
        .into_iter()
        .map(|p| json!({"containerPort": p, "name": rng.pick(PORT_NAMES), "protocol": "TCP"}))
        .collect();
    if !ports.is_empty() {
        c["ports"] = Value::Array(ports);
    }
    let mounts: Vec<Value> = rng
        .some(MOUNTS, 2)
        .into_iter()
        .map(|m| json!({"mountPath": m, "name": rng.pick(VOLUMES)}))
        .collect();
    if !mounts.is_empty() {
        c["volumeMounts"] = Value::Array(mounts);
    }
    let devices: Vec<Value> = rng
        .some(DEVICES, 2)
        .into_iter()
        .map(|d| json!({"devicePath": d, "name": rng.pick(VOLUMES)}))
        .collect();
    if !devices.is_empty() {
        c["volumeDevices"] = Value::Array(devices);
    }
    if rng.chance(50) {
        c["args"] = json!(rng.some(WORDS, 3));
    }
    if rng.chance(50) {
        c["securityContext"] = json!({"runAsNonRoot": true, "capabilities": {"drop": ["ALL"]}});
    }
    if rng.chance(40) {
        c["resources"] =
            json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}});
    }
    c
}

fn volume(rng: &mut Rng, name: &str) -> Value {
    match rng.below(3) {
        0 => json!({"name": name, "emptyDir": {"sizeLimit": "1Gi"}}),
        1 => json!({"name": name, "configMap": {"name": rng.pick(WORDS)}}),
        _ => json!({"name": name, "ephemeral": {"volumeClaimTemplate": {
            "metadata": {
                "finalizers": rng.some(FINALIZERS, 2),
                "ownerReferences": rng.some(OWNER_UIDS, 2).into_iter()
                    .map(|u| json!({"uid": u, "name": rng.pick(WORDS), "kind": "K", "apiVersion": "v1"}))
                    .collect::<Vec<_>>(),
                "labels": {"a": rng.pick(WORDS)},
            },
            "spec": {"accessModes": ["ReadWriteOnce"]},
        }}}),
    }
}

/// A pod spec of the shape render generates, with every list that merges by key in reach.
fn base_pod(rng: &mut Rng) -> Value {
    let mut names = rng.some(CONTAINERS, 3);
    if names.is_empty() {
        names.push("worker");
    }
    let mut pod = json!({
        "containers": names.iter().map(|n| base_container(rng, n)).collect::<Vec<_>>(),
        "automountServiceAccountToken": false,
        "securityContext": {"runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
    });
    let mut add = |rng: &mut Rng, key: &str, value: Value| {
        if rng.chance(55) {
            pod[key] = value;
        }
    };
    let init = json!([base_container(rng, "init")]);
    add(rng, "initContainers", init);
    let ephemeral = json!([base_container(rng, "debug")]);
    add(rng, "ephemeralContainers", ephemeral);
    let volumes: Vec<Value> = rng
        .some(VOLUMES, 3)
        .into_iter()
        .map(|v| volume(rng, v))
        .collect();
    add(rng, "volumes", Value::Array(volumes));
    let secrets: Vec<Value> = rng
        .some(SECRETS, 2)
        .into_iter()
        .map(|s| json!({"name": s}))
        .collect();
    add(rng, "imagePullSecrets", Value::Array(secrets));
    let aliases: Vec<Value> = rng
        .some(IPS, 2)
        .into_iter()
        .map(|ip| json!({"ip": ip, "hostnames": rng.some(WORDS, 2)}))
        .collect();
    add(rng, "hostAliases", Value::Array(aliases));
    let spread: Vec<Value> = rng
        .some(TOPOLOGY_KEYS, 2)
        .into_iter()
        .map(|k| json!({"topologyKey": k, "maxSkew": 1, "whenUnsatisfiable": "DoNotSchedule"}))
        .collect();
    add(rng, "topologySpreadConstraints", Value::Array(spread));
    let claims: Vec<Value> = rng
        .some(CLAIMS, 2)
        .into_iter()
        .map(|c| json!({"name": c, "resourceClaimName": rng.pick(WORDS)}))
        .collect();
    add(rng, "resourceClaims", Value::Array(claims));
    let gates: Vec<Value> = rng
        .some(GATES, 2)
        .into_iter()
        .map(|g| json!({"name": g}))
        .collect();
    add(rng, "schedulingGates", Value::Array(gates));
    let tolerations = json!([{"key": rng.pick(WORDS), "operator": "Exists"}]);
    add(rng, "tolerations", tolerations);
    let selector = json!({"pool": rng.pick(WORDS), "zone": "a"});
    add(rng, "nodeSelector", selector);
    let affinity = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "k", "operator": "In", "values": ["a"]}]}]}}});
    add(rng, "affinity", affinity);
    pod
}

/// A value of another JSON type than the field's, or an odd one: kubectl replaces with it.
fn odd_value(rng: &mut Rng) -> Value {
    match rng.below(6) {
        0 => json!("text"),
        1 => json!(7),
        2 => json!(true),
        3 => json!({"a": null, "b": {"$patch": "delete"}, "c": [1, null, {"d": null}]}),
        4 => json!([{"$patch": "delete", "x": 1}, {"y": null}]),
        _ => json!({"$patch": "replace", "z": null}),
    }
}

/// Entries for a list merged by `key`: updates, additions, deletions, now and then a replace
/// marker, and rarely an entry kubectl refuses.
fn keyed_entries(
    rng: &mut Rng,
    key: &str,
    keys: &[Value],
    fill: &mut dyn FnMut(&mut Rng, &mut Map<String, Value>),
) -> Value {
    let mut entries = Vec::new();
    let chosen = {
        let all: Vec<usize> = (0..keys.len()).collect();
        rng.some(&all, 3)
    };
    for i in chosen {
        let mut entry = Map::new();
        entry.insert(key.into(), keys[i].clone());
        match rng.below(10) {
            0 | 1 => {
                entry.insert("$patch".into(), json!("delete"));
            }
            _ => fill(rng, &mut entry),
        }
        entries.push(Value::Object(entry));
    }
    // A second entry with the same key: kubectl groups it after the first when the list is
    // replaced; render refuses it in a merge.
    let twin_of = match rng.chance(8) {
        true => entries.iter().find(|e| e.get("$patch").is_none()).cloned(),
        false => None,
    };
    if let Some(first) = twin_of {
        let mut twin = Map::new();
        twin.insert(key.into(), first[key].clone());
        fill(rng, &mut twin);
        entries.push(Value::Object(twin));
    }
    match rng.below(40) {
        0..=4 => {
            let at = rng.below(entries.len() + 1);
            entries.insert(at, json!({"$patch": "replace"}));
        }
        5 => entries.push(json!({"image": "no-key"})),
        6 => entries.push(json!({key: keys[0].clone(), "$patch": "merge"})),
        7 => entries.push(json!({"$patch": "delete"})),
        8 => entries.push(json!("not-an-object")),
        _ => {}
    }
    Value::Array(entries)
}

fn strs(items: &[&str]) -> Vec<Value> {
    items.iter().map(|s| json!(s)).collect()
}

fn patch_map(rng: &mut Rng, target: &mut Map<String, Value>, keys: &[&str]) {
    for key in rng.some(keys, 2) {
        let v = match rng.below(4) {
            0 => Value::Null,
            1 => odd_value(rng),
            _ => json!(rng.pick(WORDS)),
        };
        target.insert(key.into(), v);
    }
}

fn patch_container(rng: &mut Rng, c: &mut Map<String, Value>) {
    if rng.chance(40) {
        c.insert("image".into(), json!(format!("new:{}", rng.pick(WORDS))));
    }
    if rng.chance(45) {
        let v = keyed_entries(rng, "name", &strs(ENV), &mut |rng, e| match rng.below(4) {
            0 => {
                e.insert("value".into(), json!(rng.pick(WORDS)));
                e.insert("valueFrom".into(), Value::Null);
            }
            1 => {
                e.insert(
                    "valueFrom".into(),
                    json!({"fieldRef": {"fieldPath": "metadata.name"}}),
                );
            }
            2 => {
                e.insert("value".into(), Value::Null);
            }
            _ => {
                e.insert("value".into(), json!(rng.pick(WORDS)));
            }
        });
        c.insert("env".into(), v);
    }
    if rng.chance(35) {
        let ports: Vec<Value> = PORTS.iter().map(|p| json!(p)).collect();
        let v = keyed_entries(rng, "containerPort", &ports, &mut |rng, e| {
            e.insert("name".into(), json!(rng.pick(PORT_NAMES)));
            if rng.chance(30) {
                e.insert("protocol".into(), Value::Null);
            }
        });
        c.insert("ports".into(), v);
    }
    if rng.chance(30) {
        let v = keyed_entries(rng, "mountPath", &strs(MOUNTS), &mut |rng, e| {
            e.insert("name".into(), json!(rng.pick(VOLUMES)));
            if rng.chance(40) {
                e.insert("readOnly".into(), json!(true));
            }
        });
        c.insert("volumeMounts".into(), v);
    }
    if rng.chance(30) {
        let v = keyed_entries(rng, "devicePath", &strs(DEVICES), &mut |rng, e| {
            e.insert("name".into(), json!(rng.pick(VOLUMES)));
        });
        c.insert("volumeDevices".into(), v);
    }
    if rng.chance(25) {
        let v = match rng.below(3) {
            0 => Value::Null,
            1 => json!(rng.some(WORDS, 2)),
            _ => odd_value(rng),
        };
        c.insert("args".into(), v);
    }
    if rng.chance(30) {
        let mut sc = Map::new();
        match rng.below(5) {
            0 => {
                sc.insert("$patch".into(), json!("delete"));
            }
            1 => {
                sc.insert("$patch".into(), json!("replace"));
                sc.insert("privileged".into(), json!(false));
            }
            2 => {
                sc.insert(
                    "capabilities".into(),
                    json!({"add": ["NET_ADMIN"], "drop": null}),
                );
            }
            3 => {
                sc.insert("$retainKeys".into(), json!(["readOnlyRootFilesystem"]));
                sc.insert("readOnlyRootFilesystem".into(), json!(true));
            }
            _ => {
                sc.insert("runAsNonRoot".into(), Value::Null);
                sc.insert("runAsUser".into(), json!(1000));
            }
        }
        c.insert("securityContext".into(), Value::Object(sc));
    }
    if rng.chance(20) {
        let mut limits = Map::new();
        patch_map(rng, &mut limits, &["cpu", "memory", "nvidia.com/gpu"]);
        c.insert("resources".into(), json!({"limits": limits}));
    }
}

fn patch_volume(rng: &mut Rng, v: &mut Map<String, Value>) {
    match rng.below(4) {
        0 => {
            v.insert("$retainKeys".into(), json!(["name", "configMap"]));
            v.insert("configMap".into(), json!({"name": rng.pick(WORDS)}));
        }
        1 => {
            v.insert(
                "emptyDir".into(),
                json!({"medium": "Memory", "sizeLimit": null}),
            );
        }
        _ => {
            let finalizers = strs(&rng.some(FINALIZERS, 2));
            let owners = keyed_entries(rng, "uid", &strs(OWNER_UIDS), &mut |rng, e| {
                e.insert("name".into(), json!(rng.pick(WORDS)));
            });
            v.insert(
                "ephemeral".into(),
                json!({"volumeClaimTemplate": {"metadata": {
                    "finalizers": finalizers,
                    "ownerReferences": owners,
                    "labels": {"a": null, "b": rng.pick(WORDS)},
                }}}),
            );
        }
    }
}

/// A patch touching a few of the pod spec's fields.
fn patch(rng: &mut Rng) -> Map<String, Value> {
    let mut p = Map::new();
    for _ in 0..1 + rng.below(4) {
        match rng.below(16) {
            0..=2 => {
                let key = rng.pick(&[
                    "containers",
                    "containers",
                    "initContainers",
                    "ephemeralContainers",
                ]);
                let names: Vec<&str> = match key {
                    "containers" => CONTAINERS.to_vec(),
                    "initContainers" => vec!["init", "worker"],
                    _ => vec!["debug", "worker"],
                };
                let v = keyed_entries(rng, "name", &strs(&names), &mut |rng, c| {
                    patch_container(rng, c)
                });
                p.insert(key.into(), v);
            }
            3 => {
                let v = keyed_entries(rng, "name", &strs(VOLUMES), &mut |rng, v| {
                    patch_volume(rng, v)
                });
                p.insert("volumes".into(), v);
            }
            4 => {
                let v = keyed_entries(rng, "name", &strs(SECRETS), &mut |_, _| {});
                p.insert("imagePullSecrets".into(), v);
            }
            5 => {
                let v = keyed_entries(rng, "ip", &strs(IPS), &mut |rng, a| {
                    a.insert("hostnames".into(), json!(rng.some(WORDS, 2)));
                });
                p.insert("hostAliases".into(), v);
            }
            6 => {
                let v = keyed_entries(rng, "topologyKey", &strs(TOPOLOGY_KEYS), &mut |rng, t| {
                    t.insert("maxSkew".into(), json!(1 + rng.below(3)));
                    if rng.chance(30) {
                        t.insert("whenUnsatisfiable".into(), Value::Null);
                    }
                });
                p.insert("topologySpreadConstraints".into(), v);
            }
            7 => {
                let v = keyed_entries(rng, "name", &strs(CLAIMS), &mut |rng, c| {
                    c.insert("resourceClaimTemplateName".into(), json!(rng.pick(WORDS)));
                });
                p.insert("resourceClaims".into(), v);
            }
            8 => {
                let v = keyed_entries(rng, "name", &strs(GATES), &mut |_, _| {});
                p.insert("schedulingGates".into(), v);
            }
            9 => {
                let v = match rng.below(3) {
                    0 => Value::Null,
                    1 => json!([{"key": "dedicated", "operator": "Exists"}]),
                    _ => json!([]),
                };
                p.insert("tolerations".into(), v);
            }
            10 => {
                let mut sel = Map::new();
                patch_map(rng, &mut sel, &["pool", "zone", "disk"]);
                if rng.chance(10) {
                    sel.insert("$patch".into(), json!(rng.pick(&["replace", "delete"])));
                }
                p.insert("nodeSelector".into(), Value::Object(sel));
            }
            11 => {
                let v = match rng.below(4) {
                    0 => json!({"$patch": "delete"}),
                    1 => json!({"$patch": "replace", "fsGroup": 2000}),
                    2 => {
                        json!({"runAsUser": null, "fsGroup": 2000, "seccompProfile": {"type": "Localhost", "localhostProfile": "p"}})
                    }
                    _ => {
                        json!({"seccompProfile": {"$patch": "delete"}, "sysctls": [{"name": "a", "value": "1"}]})
                    }
                };
                p.insert("securityContext".into(), v);
            }
            12 => {
                let v = match rng.below(3) {
                    0 => {
                        json!({"nodeAffinity": null, "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}})
                    }
                    1 => {
                        json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}})
                    }
                    _ => odd_value(rng),
                };
                p.insert("affinity".into(), v);
            }
            13 => {
                p.insert("hostname".into(), json!(rng.pick(WORDS)));
                p.insert("automountServiceAccountToken".into(), odd_value(rng));
            }
            14 => {
                p.insert(
                    "$retainKeys".into(),
                    json!(["containers", "securityContext", "hostname"]),
                );
                p.insert("hostname".into(), json!("h"));
            }
            _ => {
                let key = rng.pick(&[
                    "initContainers",
                    "volumes",
                    "dnsConfig",
                    "priorityClassName",
                ]);
                p.insert(key.into(), Value::Null);
            }
        }
    }
    p
}

fn deployment(name: &str, pod: &Value) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"selector": {}, "template": {"spec": pod}},
    })
}

/// kubectl's result for each pod spec, `None` where it refused the patch.
fn kubectl_patch(
    dir: &std::path::Path,
    n: usize,
    pods: &[Value],
    patch: &Map<String, Value>,
) -> Vec<Option<Value>> {
    let list = json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": pods.iter().enumerate().map(|(i, p)| deployment(&format!("case-{i}"), p)).collect::<Vec<_>>(),
    });
    let input = dir.join(format!("pods-{n}.json"));
    let patch_file = dir.join(format!("patch-{n}.json"));
    std::fs::write(&input, list.to_string()).unwrap();
    let wrapped = json!({"spec": {"template": {"spec": patch}}});
    std::fs::write(&patch_file, wrapped.to_string()).unwrap();
    let out = run(Command::new(tool("kubectl"))
        .args([
            "patch",
            "--local",
            "--type",
            "strategic",
            "-o",
            "json",
            "-f",
        ])
        .arg(&input)
        .arg("--patch-file")
        .arg(&patch_file));
    let mut results = vec![None; pods.len()];
    for object in serde_json::Deserializer::from_slice(&out.stdout).into_iter::<Value>() {
        let object = object.unwrap_or_else(|e| panic!("kubectl printed no JSON ({e})"));
        let name = object["metadata"]["name"].as_str().unwrap();
        let i: usize = name.trim_start_matches("case-").parse().unwrap();
        results[i] = Some(object["spec"]["template"]["spec"].clone());
    }
    let refused = results.iter().filter(|r| r.is_none()).count();
    assert_eq!(
        out.status.success(),
        refused == 0,
        "kubectl exit {:?} with {refused} refused: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    results
}

#[derive(Default)]
struct Tally {
    agreed: usize,
    refused_by_both: usize,
    unsupported: usize,
}

#[test]
fn worker_pod_spec_patches_merge_exactly_as_kubectl_merges_them() {
    const PATCHES: usize = 90;
    const PODS_PER_PATCH: usize = 6;
    let mut rng = Rng(0x5EED_1234);
    let cases: Vec<(Vec<Value>, Map<String, Value>)> = (0..PATCHES)
        .map(|_| {
            let pods = (0..PODS_PER_PATCH).map(|_| base_pod(&mut rng)).collect();
            (pods, patch(&mut rng))
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    // Two threads: kubectl's start-up is most of each call.
    let tallies: Vec<Tally> = std::thread::scope(|s| {
        let halves: Vec<_> = [0, 1]
            .into_iter()
            .map(|half| {
                let cases = &cases;
                let dir = dir.path();
                s.spawn(move || {
                    let mut tally = Tally::default();
                    for (n, (pods, patch)) in cases.iter().enumerate().filter(|(n, _)| n % 2 == half) {
                        let theirs = kubectl_patch(dir, n, pods, patch);
                        for (i, (pod, theirs)) in pods.iter().zip(theirs).enumerate() {
                            let mut ours = pod.as_object().unwrap().clone();
                            let result = podspec::merge(&mut ours, patch);
                            let context = || {
                                format!(
                                    "patch {n}, pod {i}\npod:   {pod}\npatch: {}\nours:  {result:?} {}\nkubectl: {}",
                                    Value::Object(patch.clone()),
                                    Value::Object(ours.clone()),
                                    theirs.as_ref().map_or("refused".into(), |t| t.to_string())
                                )
                            };
                            match (&result, &theirs) {
                                (Ok(()), Some(theirs)) => {
                                    assert_eq!(&Value::Object(ours.clone()), theirs, "{}", context());
                                    tally.agreed += 1;
                                }
                                (Err(e), None) if e.kind == ErrorKind::Invalid => tally.refused_by_both += 1,
                                (Err(e), _) if e.kind == ErrorKind::Unsupported => tally.unsupported += 1,
                                _ => panic!("render and kubectl disagree on refusing\n{}", context()),
                            }
                        }
                    }
                    tally
                })
            })
            .collect();
        halves.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let agreed: usize = tallies.iter().map(|t| t.agreed).sum();
    let refused: usize = tallies.iter().map(|t| t.refused_by_both).sum();
    let unsupported: usize = tallies.iter().map(|t| t.unsupported).sum();
    // The generator reaches every kind of outcome, mostly merges.
    assert!(agreed >= 350, "only {agreed} merged pairs");
    assert!(refused >= 60, "only {refused} pairs that both refuse");
    assert!(unsupported <= 40, "{unsupported} unsupported pairs");
}

/// The pod spec of the one Deployment that rendering `cr` (YAML or JSON) gives.
fn rendered_pod(cr: &str) -> Value {
    let loaded = load_str("input.yaml", cr, &Limits::default());
    let rendered = render_json(
        loaded.documents,
        loaded.diagnostics,
        &RenderOptions::default(),
    );
    assert!(!rendered.has_errors(), "{:?}", rendered.diagnostics);
    let deployments: Vec<&Value> = rendered
        .objects
        .iter()
        .filter(|o| o.key.kind == "Deployment")
        .map(|o| &o.value)
        .collect();
    assert_eq!(deployments.len(), 1);
    deployments[0]["spec"]["template"]["spec"].clone()
}

#[test]
fn a_rendered_worker_pod_is_kubectls_patch_of_the_pod_rendered_without_the_pod_spec() {
    let fixture = repo_root().join("fixtures/render/podspec-merge/input/pipeline.yaml");
    let pipeline: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    let function: Value = serde_saphyr::from_str(
        "apiVersion: hevlayer.com/v1alpha1
kind: Function
metadata: {name: rerank, namespace: hev-shop}
spec:
  indexSelector: {matchLabels: {app: shop}}
  worker:
    image: ghcr.io/hev/rerank:1.2.0
    dispatch: push
    podSpec:
      containers:
      - name: udf
        ports: [{containerPort: 8080, name: web}]
        env:
        - {name: HEVLAYER_UDF_BATCH_SIZE, $patch: delete}
        - {name: LAYER_GATEWAY_API_KEY, value: inline, valueFrom: null}
        volumeDevices: [{name: raw, devicePath: /dev/xvdb}]
      tolerations: null
      securityContext: {$patch: replace, runAsNonRoot: true, runAsUser: 1000}
  scaling: {mode: fixed, replicas: {min: 1, max: 3}}
",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (n, cr) in [pipeline, function].into_iter().enumerate() {
        let patch = cr["spec"]["worker"]["podSpec"].as_object().unwrap().clone();
        let mut bare = cr.clone();
        bare["spec"]["worker"]
            .as_object_mut()
            .unwrap()
            .remove("podSpec");
        let base = rendered_pod(&bare.to_string());
        let theirs = kubectl_patch(dir.path(), n, &[base], &patch);
        assert_eq!(
            Some(rendered_pod(&cr.to_string())),
            theirs[0],
            "{}",
            cr["kind"]
        );
    }
}

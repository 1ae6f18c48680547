#!/usr/bin/env python3
"""Checks a rendering of the keyward chart for the properties the chart promises.

    helm template keyward helm/keyward [-f helm/keyward/ci/X-values.yaml] | python3 verify.py

- every Deployment runs `keyward <service> --config /etc/keyward/keyward.toml`, with /livez and
  /readyz probes on its http port, non-root, read-only root filesystem, no capabilities, and the
  spool volume at /var/lib/keyward/spool;
- least privilege: a pod's real secrets are exactly the broker URL, its own database password, its
  own token and its allowed callers' tokens, its own keys (gateway: JWT, pepper, TOTP; audit:
  signing key), plus the KEK for the vault alone; the migrate Job gets
  the admin credentials and the six database passwords, and no real token, broker URL or KEK;
- every environment variable name is one Kubernetes accepts;
- NetworkPolicies admit each gRPC port only from the callers DESIGN.md allows (+ operator);
- keyward.toml parses, and its gRPC URLs name the Services and ports that exist.
Needs PyYAML and Python 3.11+ (tomllib). Exit code 1 with a list of failures.
"""

from __future__ import annotations

import re
import sys
import tomllib

import yaml

SERVICES = {
    # service: (schema, config section, allowed gRPC callers; None = no gRPC server)
    "api-gateway": ("identity", "api_gateway", None),
    "vault": ("vault", "vault", {"api-gateway", "alert", "operator"}),
    "usage-ingest": ("usage", "usage_ingest", {"api-gateway", "cost", "operator"}),
    "cost": ("cost", "cost", {"api-gateway", "alert", "operator"}),
    "alert": ("alert", "alert", {"api-gateway", "operator"}),
    "audit": ("audit", "audit", {"api-gateway", "operator"}),
}
# Secrets only one service uses (platform Secret keys).
OWN_SECRETS = {
    "api-gateway": {"api-gateway-jwt-secret", "api-gateway-vkey-pepper", "api-gateway-totp-key"},
    "audit": {"audit-signing-key"},
}
SCHEMAS = ["identity", "vault", "usage", "cost", "alert", "audit"]
IDENTITIES = ["api-gateway", "vault", "usage-ingest", "cost", "alert", "audit", "operator"]
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")

failures: list[str] = []


def check(cond: bool, message: str) -> None:
    if not cond:
        failures.append(message)


def component(doc: dict) -> str | None:
    return ((doc.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/component")


def real_secret_refs(container: dict, unused_secret: str) -> dict[str, tuple[str, str]]:
    """Environment variable -> (secret, key), leaving out the random stand-ins."""
    out = {}
    for e in container.get("env", []):
        ref = (e.get("valueFrom") or {}).get("secretKeyRef")
        if ref and ref["name"] != unused_secret:
            out[e["name"]] = (ref["name"], ref["key"])
    return out


def main() -> int:
    docs = [d for d in yaml.safe_load_all(sys.stdin.read()) if d]
    by_kind: dict[str, list[dict]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    deployments = {component(d): d for d in by_kind.get("Deployment", [])}
    check(set(deployments) == set(SERVICES), f"Deployments: {sorted(filter(None, deployments))}")
    gateway_name = deployments["api-gateway"]["metadata"]["name"]
    fullname = gateway_name[: -len("-api-gateway")]
    unused = f"{fullname}-unused"
    services = {d["metadata"]["name"]: d for d in by_kind.get("Service", [])}
    configmaps = {d["metadata"]["name"]: d for d in by_kind.get("ConfigMap", [])}

    for service, (schema, _section, callers) in SERVICES.items():
        dep = deployments.get(service)
        if dep is None:
            continue
        where = f"Deployment {dep['metadata']['name']}"
        pod = dep["spec"]["template"]["spec"]
        (c,) = pod["containers"]
        check(c["args"] == [service, "--config", "/etc/keyward/keyward.toml"], f"{where}: args {c['args']}")
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        check("http" in ports, f"{where}: no http port")
        check(("grpc" in ports) == (callers is not None), f"{where}: grpc port {ports}")
        for probe, path in (("livenessProbe", "/livez"), ("readinessProbe", "/readyz")):
            get = (c.get(probe) or {}).get("httpGet") or {}
            check(get.get("path") == path and get.get("port") == "http", f"{where}: {probe} {get}")
        sc, psc = c.get("securityContext") or {}, pod.get("securityContext") or {}
        check(psc.get("runAsNonRoot") is True, f"{where}: runAsNonRoot")
        check(sc.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem")
        check(sc.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation")
        check((sc.get("capabilities") or {}).get("drop") == ["ALL"], f"{where}: capabilities")
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
        check("/var/lib/keyward/spool" in mounts, f"{where}: no spool volume")
        check("/etc/keyward/keyward.toml" in mounts, f"{where}: no keyward.toml")
        for e in c.get("env", []):
            check(bool(ENV_NAME.match(e["name"])), f"{where}: env name {e['name']!r}")

        refs = real_secret_refs(c, unused)
        keys = {key for (_secret, key) in refs.values()}
        allowed_tokens = {service} | (callers or set())
        expected = {"broker-url", f"database-password-{schema}"}
        expected |= {f"token-{i}" for i in allowed_tokens}
        expected |= OWN_SECRETS.get(service, set())
        if service == "vault":
            expected.add("kek")
        check(keys == expected, f"{where}: real secrets {sorted(keys)}, expected {sorted(expected)}")
        kek_holders = [n for n, (s, _k) in refs.items() if s.endswith("-kek") or n.endswith("KEK")]
        check((service == "vault") == bool(kek_holders), f"{where}: KEK {kek_holders}")
        names = {e["name"] for e in c.get("env", [])}
        for s in SCHEMAS:
            var = f"KEYWARD__DATABASE__PASSWORDS__{s.upper()}"
            check(var in names or s != schema, f"{where}: missing {var}")
        for i in allowed_tokens:
            var = f"KEYWARD__INTERNAL__TOKENS__{i.upper()}"
            check(var in names, f"{where}: missing {var}")

        svc = services.get(dep["metadata"]["name"])
        check(svc is not None, f"{where}: no Service")

    for job in by_kind.get("Job", []):
        where = f"Job {job['metadata']['name']}"
        (c,) = job["spec"]["template"]["spec"]["containers"]
        check(c["args"][0] == "migrate", f"{where}: args {c['args']}")
        refs = real_secret_refs(c, unused)
        admin = {"KEYWARD__DATABASE__ADMIN_USER", "KEYWARD__DATABASE__ADMIN_PASSWORD"}
        keys = {key for (var, (_s, key)) in refs.items() if var not in admin}
        want = {f"database-password-{s}" for s in SCHEMAS}
        check(want <= keys, f"{where}: lacks {sorted(want - keys)}")
        check(keys == want, f"{where}: holds real {sorted(keys - want)}")
        check(not any(k.startswith("token-") or k in ("broker-url", "kek") for k in keys),
              f"{where}: holds real {sorted(k for k in keys if k not in want)}")
        check(admin <= set(refs),
              f"{where}: no admin credentials")
        hooks = (job["metadata"].get("annotations") or {}).get("helm.sh/hook", "")
        check("pre-install" in hooks and "pre-upgrade" in hooks, f"{where}: hook {hooks!r}")

    # NetworkPolicies: gRPC callers.
    policies = {component(p): p for p in by_kind.get("NetworkPolicy", [])}
    for service, (_schema, _section, callers) in SERVICES.items():
        policy = policies.get(service)
        if policy is None or callers is None:
            continue
        grpc_from: set[str] = set()
        for rule in policy["spec"].get("ingress", []):
            if any(p.get("port") == "grpc" for p in rule.get("ports", [])):
                check(bool(rule.get("from")), f"NetworkPolicy {service}: gRPC open to anyone")
                for peer in rule.get("from", []):
                    labels = (peer.get("podSelector") or {}).get("matchLabels") or {}
                    grpc_from.add(labels.get("app.kubernetes.io/component", "?"))
        check(grpc_from - {"operator"} == callers - {"operator"},
              f"NetworkPolicy {service}: gRPC from {sorted(grpc_from)}, expected {sorted(callers)}")

    # keyward.toml
    for name, cm in configmaps.items():
        text = (cm.get("data") or {}).get("keyward.toml")
        if text is None:
            continue
        try:
            cfg = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            failures.append(f"ConfigMap {name}: keyward.toml does not parse: {e}")
            continue
        check(cfg["broker"]["spool_dir"] == "/var/lib/keyward/spool", f"{name}: spool_dir")
        for key in ("url",):
            check("url" not in cfg["broker"], f"{name}: broker.{key} must come from a Secret")
        check("passwords" not in cfg["database"] and "admin_password" not in cfg["database"],
              f"{name}: database credentials in the ConfigMap")
        check("tokens" not in cfg.get("internal", {}), f"{name}: tokens in the ConfigMap")
        for service, (_schema, section, callers) in SERVICES.items():
            if callers is None:
                continue
            url = cfg[section]["grpc_url"]
            m = re.match(r"^https?://([^:/]+):(\d+)$", url)
            check(bool(m), f"{name}: {section}.grpc_url {url!r}")
            if not m:
                continue
            svc = services.get(m.group(1))
            check(svc is not None, f"{name}: {section}.grpc_url names no Service ({url})")
            if svc:
                svc_ports = {p["name"]: p["port"] for p in svc["spec"]["ports"]}
                check(svc_ports.get("grpc") == int(m.group(2)), f"{name}: {url} port")
            tls = "tls" in cfg.get("internal", {})
            check(url.startswith("https://") == tls, f"{name}: {url} scheme vs [internal.tls]")

    if failures:
        print("verify: FAILED", file=sys.stderr)
        for f in failures:
            print(f"  - {f}", file=sys.stderr)
        return 1
    print(f"verify: ok ({len(docs)} resources)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

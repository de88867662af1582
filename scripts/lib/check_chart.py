"""The chart checks of scripts/check-chart: lint, render, validate, and assert."""
import json
import re
import sys
from pathlib import Path

import helm_python as helm
import kubernetes_validate
import yaml

CHART = Path("helm/mutt")
KUBE_VERSION = "1.30.0"
# Kinds from CRDs: kubernetes-validate has no schema for them; checked by hand below.
CRD_KINDS = {"ServiceMonitor", "ScaledObject", "TriggerAuthentication"}
failures = []


def fail(context, message):
    failures.append(f"{context}: {message}")


def documented_variables():
    text = Path("docs/configuration.md").read_text()
    return set(re.findall(r"`([A-Z][A-Z0-9_]+)`", text))


def render(chart, values, context):
    try:
        chart.validate_schema(values)
    except helm.HelmValuesError as e:
        fail(context, f"values.schema.json refuses the values: {e}")
        return []
    rendered = chart.render(values, name="mutt", namespace="mutt", is_install=True)
    objects = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                objects.append((path, doc))
    return objects


def validate(objects, context):
    for path, obj in objects:
        if obj["kind"] in CRD_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            fail(context, f"{path} {obj['kind']}/{obj['metadata']['name']}: {e.message}")


def by_kind(objects, kind):
    return {o["metadata"]["name"]: o for _, o in objects if o["kind"] == kind}


def check_restricted(pod_spec, where, context):
    psc = pod_spec.get("securityContext", {})
    if not psc.get("runAsNonRoot") or psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        fail(context, f"{where}: pod securityContext is not restricted: {psc}")
    for c in pod_spec["containers"]:
        sc = c.get("securityContext", {})
        if not (sc.get("readOnlyRootFilesystem") and sc.get("allowPrivilegeEscalation") is False
                and sc.get("capabilities", {}).get("drop") == ["ALL"]):
            fail(context, f"{where}/{c['name']}: container securityContext is not restricted: {sc}")


def check_common(objects, context, values):
    deployments = by_kind(objects, "Deployment")
    expected = {f"mutt-{c}" for c in ("ingestor", "alerter", "forwarder", "webui")
                if values.get(c, {}).get("enabled", True)}
    if set(deployments) != expected:
        fail(context, f"Deployments {sorted(deployments)}, expected {sorted(expected)}")
    for name, d in deployments.items():
        spec = d["spec"]["template"]["spec"]
        check_restricted(spec, name, context)
        c = spec["containers"][0]
        if c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/health":
            fail(context, f"{name}: liveness probe is not /health")
        if c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/ready":
            fail(context, f"{name}: readiness probe is not /ready")
        env = {e["name"]: e for e in c.get("env", [])}
        for var in ("POD_NAME", "REDIS_HOST", "DB_HOST"):
            if var not in env:
                fail(context, f"{name}: no {var} in env")
        if env.get("POD_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") != "metadata.name":
            fail(context, f"{name}: POD_NAME does not come from the pod's name")
        for var, e in env.items():
            if var.endswith(("PASS", "API_KEY")) and "value" in e:
                fail(context, f"{name}: secret {var} given as a plain value")
    pdbs = by_kind(objects, "PodDisruptionBudget")
    if set(pdbs) != expected:
        fail(context, f"PodDisruptionBudgets {sorted(pdbs)}, expected {sorted(expected)}")
    for _, o in objects:
        if o["kind"] == "PodDisruptionBudget" and o["apiVersion"] != "policy/v1":
            fail(context, f"PDB apiVersion {o['apiVersion']}")
        if o["kind"] == "HorizontalPodAutoscaler" and o["apiVersion"] != "autoscaling/v2":
            fail(context, f"HPA apiVersion {o['apiVersion']}")
    configmaps = by_kind(objects, "ConfigMap")
    config = configmaps.get("mutt-config", {}).get("data", {})
    documented = documented_variables()
    for key in config:
        if key not in documented:
            fail(context, f"ConfigMap key {key} is not a variable of docs/configuration.md")
    jobs = by_kind(objects, "Job")
    job = jobs.get("mutt-migrate")
    if not job:
        fail(context, "no migration Job")
    else:
        hooks = job["metadata"].get("annotations", {}).get("helm.sh/hook", "")
        if set(hooks.split(",")) != {"pre-install", "pre-upgrade"}:
            fail(context, f"migration Job hooks: {hooks!r}")
        spec = job["spec"]["template"]["spec"]
        check_restricted(spec, "mutt-migrate", context)
        if spec["containers"][0]["command"] != ["/usr/local/bin/webui", "migrate"]:
            fail(context, "the Job does not run webui migrate")
    rules_job = jobs.get("mutt-rules")
    rules_file = values.get("rulesFile", {})
    if not rules_file.get("enabled"):
        if rules_job:
            fail(context, "a rules Job rendered although rulesFile is off")
    elif not rules_job:
        fail(context, "rulesFile is on but no rules Job rendered")
    else:
        hooks = rules_job["metadata"].get("annotations", {}).get("helm.sh/hook", "")
        if set(hooks.split(",")) != {"post-install", "post-upgrade"}:
            fail(context, f"rules Job hooks: {hooks!r}")
        spec = rules_job["spec"]["template"]["spec"]
        check_restricted(spec, "mutt-rules", context)
        command = spec["containers"][0]["command"]
        wanted = ["/usr/local/bin/webui", "rules", "import", f"/etc/mutt-rules/{rules_file['key']}", "--reason"]
        if command[:5] != wanted:
            fail(context, f"the rules Job runs {command}")
        source = rules_file.get("existingConfigMap") or "mutt-rules"
        mounted = [v["configMap"]["name"] for v in spec["volumes"] if "configMap" in v]
        if mounted != [source]:
            fail(context, f"the rules Job mounts {mounted}, not {source}")
        if not rules_file.get("existingConfigMap"):
            data = configmaps.get("mutt-rules", {}).get("data", {})
            if data.get(rules_file["key"]) != rules_file.get("content"):
                fail(context, "the rules ConfigMap does not hold rulesFile.content")
    services = by_kind(objects, "Service")
    syslog = services.get("mutt-syslog")
    if values.get("ingestor", {}).get("syslog", {}).get("enabled", True):
        if not syslog:
            fail(context, "no syslog Service")
        else:
            mapped = {(p["protocol"], p["port"], p["targetPort"]) for p in syslog["spec"]["ports"]}
            wanted = {("UDP", 514, 5514), ("TCP", 514, 5514)}
            if values.get("tls", {}).get("syslog", {}).get("secretName"):
                wanted.add(("TCP", 6514, 6514))
            if mapped != wanted:
                fail(context, f"syslog Service maps {mapped}")
    return deployments


def main():
    lint = helm.lint(str(CHART), strict=True, kube_version=f"v{KUBE_VERSION}")
    for m in lint.get("messages", []):
        if m.get("severity", 0) >= 2:
            fail("lint", f"{m.get('path')}: {m.get('error')}")
    for e in lint.get("errors", []) or []:
        fail("lint", e)

    chart = helm.Chart.load(str(CHART))
    cases = {"defaults": {}}
    for path in sorted(Path("helm/checks").glob("*.yaml")):
        cases[path.stem] = yaml.safe_load(path.read_text()) or {}
    counts = {}
    for name, values in cases.items():
        objects = render(chart, values, name)
        if not objects:
            fail(name, "rendered nothing")
            continue
        validate(objects, name)
        merged = chart.merge_values(values)
        check_common(objects, name, merged)
        counts[name] = len(objects)
        kinds = {o["kind"] for _, o in objects}
        if name == "defaults":
            if "Ingress" in kinds or "ServiceMonitor" in kinds or "ScaledObject" in kinds:
                fail(name, f"optional objects rendered by default: {sorted(kinds)}")
            if set(by_kind(objects, "HorizontalPodAutoscaler")) != {"mutt-ingestor"}:
                fail(name, "the default HPA set is not {mutt-ingestor}")
            if "Secret" in kinds:
                fail(name, "a Secret was made with no secret values given")
        if name == "everything":
            if set(by_kind(objects, "ServiceMonitor")) != {f"mutt-{c}" for c in ("ingestor", "alerter", "forwarder", "webui")}:
                fail(name, "not one ServiceMonitor per service")
            scaled = by_kind(objects, "ScaledObject")
            if set(scaled) != {"mutt-alerter", "mutt-forwarder"}:
                fail(name, f"ScaledObjects {sorted(scaled)}")
            if "mutt-alerter" in by_kind(objects, "HorizontalPodAutoscaler"):
                fail(name, "the alerter has both an HPA and a KEDA ScaledObject")
            ingress = by_kind(objects, "Ingress").get("mutt-webui")
            if not ingress or ingress["spec"]["tls"][0]["secretName"] != "mutt-tls":
                fail(name, "no TLS Ingress for the web UI")
            if "Secret" in kinds:
                fail(name, "a Secret was made although every secret is an existing one")
            deployments = by_kind(objects, "Deployment")
            for dname, var, secret in (("mutt-ingestor", "INGEST", "mutt-ingest-tls"), ("mutt-webui", "WEBUI", "mutt-webui-tls")):
                pod = deployments[dname]["spec"]["template"]["spec"]
                container = pod["containers"][0]
                env = {e["name"]: e.get("value") for e in container["env"]}
                if env.get(f"{var}_TLS_CERT_FILE") != "/etc/mutt-tls/tls.crt" or env.get(f"{var}_TLS_KEY_FILE") != "/etc/mutt-tls/tls.key":
                    fail(name, f"{dname}: no {var}_TLS_* variables")
                if container["readinessProbe"]["httpGet"].get("scheme") != "HTTPS":
                    fail(name, f"{dname}: the probes do not speak HTTPS")
                if not any(v.get("secret", {}).get("secretName") == secret for v in pod["volumes"]):
                    fail(name, f"{dname}: the TLS Secret {secret} is not mounted")
            for dname in ("mutt-alerter", "mutt-forwarder"):
                env = {e["name"] for e in deployments[dname]["spec"]["template"]["spec"]["containers"][0]["env"]}
                if any(n.endswith("_TLS_CERT_FILE") for n in env):
                    fail(name, f"{dname}: TLS variables on a service without a TLS listener")
            ingest_env = {e["name"]: e.get("value") for e in deployments["mutt-ingestor"]["spec"]["template"]["spec"]["containers"][0]["env"]}
            if ingest_env.get("SYSLOG_TLS_PORT") != "6514" or ingest_env.get("SYSLOG_TLS_CLIENT_CA_FILE") != "/etc/mutt-syslog-tls/ca.crt":
                fail(name, "syslog over TLS is not configured on the ingestor")
            syslog_ports = {p["name"]: p["port"] for p in by_kind(objects, "Service")["mutt-syslog"]["spec"]["ports"]}
            if syslog_ports.get("syslog-tls") != 6514:
                fail(name, f"the syslog Service has no TLS port: {syslog_ports}")
            monitors = by_kind(objects, "ServiceMonitor")
            if monitors["mutt-ingestor"]["spec"]["endpoints"][0].get("scheme") != "https":
                fail(name, "the ingestor's ServiceMonitor does not scrape over HTTPS")
        if name == "sentinel":
            for dname, d in by_kind(objects, "Deployment").items():
                env = {e["name"]: e for e in d["spec"]["template"]["spec"]["containers"][0]["env"]}
                if env.get("REDIS_SENTINEL_HOSTS", {}).get("value") != "sentinel-0.redis:26379,sentinel-1.redis:26379,sentinel-2.redis:26379":
                    fail(name, f"{dname}: REDIS_SENTINEL_HOSTS is {env.get('REDIS_SENTINEL_HOSTS')}")
                if env.get("REDIS_SENTINEL_MASTER", {}).get("value") != "mutt":
                    fail(name, f"{dname}: REDIS_SENTINEL_MASTER is {env.get('REDIS_SENTINEL_MASTER')}")
                ref = env.get("REDIS_SENTINEL_PASS", {}).get("valueFrom", {}).get("secretKeyRef", {})
                if (ref.get("name"), ref.get("key")) != ("mutt-redis", "sentinel-password"):
                    fail(name, f"{dname}: REDIS_SENTINEL_PASS from {ref}")
            for sname, so in by_kind(objects, "ScaledObject").items():
                trigger = so["spec"]["triggers"][0]
                if trigger["type"] != "redis-sentinel" or trigger["metadata"].get("sentinelMaster") != "mutt":
                    fail(name, f"{sname}: trigger {trigger}")
        if name == "cluster":
            for dname, d in by_kind(objects, "Deployment").items():
                env = {e["name"]: e for e in d["spec"]["template"]["spec"]["containers"][0]["env"]}
                if env.get("REDIS_CLUSTER_NODES", {}).get("value") != "redis-0.redis:6379,redis-1.redis:6379,redis-2.redis:6379":
                    fail(name, f"{dname}: REDIS_CLUSTER_NODES is {env.get('REDIS_CLUSTER_NODES')}")
            config = by_kind(objects, "ConfigMap").get("mutt-config", {}).get("data", {})
            if config.get("QUEUE_SHARDS") != "3":
                fail(name, f"QUEUE_SHARDS in the ConfigMap is {config.get('QUEUE_SHARDS')}")
            alerter = by_kind(objects, "ScaledObject").get("mutt-alerter")
            triggers = alerter["spec"]["triggers"] if alerter else []
            # The shard tags of 3 shards (shared/src/redis/slots.rs; the chart's _shards.tpl).
            wanted = [f"mutt:ingest_queue:{{{t}}}" for t in ("s0.0", "s1.1", "s2.1")]
            if [t["metadata"].get("listName") for t in triggers] != wanted or any(
                t["type"] != "redis-cluster" or t["metadata"].get("listLength") != "1667" for t in triggers
            ):
                fail(name, f"the alerter's triggers are not one redis-cluster trigger per shard: {triggers}")
        if name == "inline-secrets":
            secrets = by_kind(objects, "Secret")
            if set(secrets) != {"mutt-keys", "mutt-migrate"}:
                fail(name, f"Secrets {sorted(secrets)}")
            if "mutt-syslog" in by_kind(objects, "Service"):
                fail(name, "syslog Service rendered although disabled")
    for name, count in counts.items():
        print(f"check-chart: {name}: {count} objects rendered and valid against Kubernetes {KUBE_VERSION}")
    if failures:
        print("check-chart: FAILED", file=sys.stderr)
        for f in failures:
            print(f"  {f}", file=sys.stderr)
        sys.exit(1)
    print("check-chart: ok")


main()

#!/usr/bin/env python3
"""Renders one kustomization of k8s/ and checks what a cluster would only tell us late.

    check_k8s.py K8S_DIR base|dev|prod|podmonitor

Renders with `kubectl kustomize` (or a standalone `kustomize build`); there is no API
server here, so this checks the rendered objects against each other and against the
services' known ports, not against the Kubernetes schema. Exits 77 (CTest: skipped) when
neither tool nor PyYAML is available.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

SKIP = 77

# The services' fixed ports (shared/API.md): gRPC, metrics.
PORTS = {
    "ticket": (50051, 9101),
    "routing": (50052, 9102),
    "sla": (50053, 9103),
    "notification": (50054, 9104),
}

errors = []


def fail(msg):
    errors.append(msg)


def render(path):
    if shutil.which("kubectl"):
        cmd = ["kubectl", "kustomize", path]
    elif shutil.which("kustomize"):
        cmd = ["kustomize", "build", path]
    else:
        print("SKIP: neither kubectl nor kustomize is installed")
        sys.exit(SKIP)
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        print(f"{' '.join(cmd)} failed:\n{out.stderr}", file=sys.stderr)
        sys.exit(1)
    return out.stdout


def duration_seconds(text):
    """Go-style durations as libs/core accepts them: 20s, 1.5m, 250ms, 1m30s."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(n) * units[u] for n, u in parts)


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def grpc_probes(container):
    return [n for n in ("startupProbe", "readinessProbe", "livenessProbe")
            if "grpc" in (container.get(n) or {})]


def check(objs, overlay):
    by_kind = {}
    for o in objs:
        by_kind.setdefault(o["kind"], {})[o["metadata"]["name"]] = o
    deployments = by_kind.get("Deployment", {})
    configmaps = by_kind.get("ConfigMap", {})
    hpas = by_kind.get("HorizontalPodAutoscaler", {})

    if sorted(deployments) != sorted(f"sundesk-{s}" for s in PORTS):
        fail(f"Deployments are {sorted(deployments)}, want one per service")

    for name, d in deployments.items():
        svc = name.removeprefix("sundesk-")
        grpc_port, metrics_port = PORTS.get(svc, (None, None))
        pod = d["spec"]["template"]["spec"]
        where = f"Deployment {name}"
        containers = pod.get("containers", [])
        if len(containers) != 1 or containers[0].get("name") != "server":
            fail(f"{where}: want exactly one container named 'server' (overlay patches merge on it)")
            continue
        c = containers[0]
        if c.get("command") != [f"/usr/local/bin/{svc}-server"]:
            fail(f"{where}: command {c.get('command')} does not start {svc}-server")

        ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        if ports.get("grpc") != grpc_port or ports.get("metrics") != metrics_port:
            fail(f"{where}: ports {ports}, want grpc={grpc_port} metrics={metrics_port}")

        # The environment the process will see: envFrom ConfigMaps, then env.
        env = {}
        for ref in c.get("envFrom", []):
            cm_name = (ref.get("configMapRef") or {}).get("name")
            if cm_name is None:
                continue
            if cm_name not in configmaps:
                fail(f"{where}: envFrom ConfigMap {cm_name} is not in the output")
                continue
            env.update(configmaps[cm_name].get("data", {}))
        for e in c.get("env", []):
            env[e["name"]] = e.get("value", e.get("valueFrom"))
        if env.get("SUNDESK_GRPC_ADDR") != f"0.0.0.0:{grpc_port}":
            fail(f"{where}: SUNDESK_GRPC_ADDR={env.get('SUNDESK_GRPC_ADDR')}, want 0.0.0.0:{grpc_port}")
        if env.get("SUNDESK_METRICS_ADDR") != f"0.0.0.0:{metrics_port}":
            fail(f"{where}: SUNDESK_METRICS_ADDR={env.get('SUNDESK_METRICS_ADDR')}")
        required = ["SUNDESK_PG_DSN", "SUNDESK_ADMIN_KEY", "SUNDESK_SERVICE_KEY",
                    "SUNDESK_KAFKA_BOOTSTRAP", "SUNDESK_DRAIN_TIMEOUT"]
        if svc == "routing":
            required += ["SUNDESK_REDIS_ADDR", "SUNDESK_TICKET_ADDR"]
        for var in required:
            if var not in env:
                fail(f"{where}: {var} is not set")
        for var in ("SUNDESK_PG_DSN", "SUNDESK_ADMIN_KEY", "SUNDESK_SERVICE_KEY"):
            if var in env and not (isinstance(env[var], dict) and "secretKeyRef" in env[var]):
                fail(f"{where}: {var} must come from a Secret, not a literal")

        # Shutdown: the kubelet must wait out the drain before SIGKILL.
        try:
            drain = duration_seconds(env.get("SUNDESK_DRAIN_TIMEOUT", ""))
        except ValueError as e:
            fail(f"{where}: SUNDESK_DRAIN_TIMEOUT: {e}")
            drain = None
        grace = pod.get("terminationGracePeriodSeconds", 30)
        if drain is not None and not grace > drain:
            fail(f"{where}: terminationGracePeriodSeconds {grace} <= drain timeout {drain}s")

        res = c.get("resources", {})
        for kind in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in res.get(kind, {}):
                    fail(f"{where}: resources.{kind}.{r} missing")

        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            if probe not in c:
                fail(f"{where}: no {probe}")
        for probe in grpc_probes(c):
            if c[probe]["grpc"].get("port") != grpc_port:
                fail(f"{where}: {probe} probes port {c[probe]['grpc'].get('port')}, not {grpc_port}")
        # gRPC health follows the dependencies (libs/rpc re-checks them): as liveness it
        # would restart every pod during a database outage.
        if "grpc" in c.get("livenessProbe", {}):
            fail(f"{where}: livenessProbe uses gRPC health, which follows the dependencies")
        ready = c.get("readinessProbe", {})
        if "SUNDESK_TLS_CERT" in env:
            # The kubelet's gRPC probe speaks plaintext only: against TLS it always fails.
            if grpc_probes(c):
                fail(f"{where}: TLS is on but {grpc_probes(c)} use the plaintext gRPC probe")
            cmd = (ready.get("exec") or {}).get("command", [])
            want = {f"--addr=127.0.0.1:{grpc_port}", f"--tls-server-name={name}",
                    f"--tls-cert={env.get('SUNDESK_TLS_CERT')}",
                    f"--tls-key={env.get('SUNDESK_TLS_KEY')}",
                    f"--tls-ca={env.get('SUNDESK_TLS_CLIENT_CA')}"}
            if cmd[:1] != ["/usr/local/bin/deskctl"] or cmd[-1:] != ["health"] or \
                    not want <= set(cmd):
                fail(f"{where}: TLS readiness must be `deskctl {' '.join(sorted(want))} "
                     f"health`, is {cmd}")
        elif "grpc" not in ready:
            fail(f"{where}: readinessProbe is not the native gRPC health probe")

        psc = pod.get("securityContext", {})
        csc = c.get("securityContext", {})
        if psc.get("runAsNonRoot") is not True and csc.get("runAsNonRoot") is not True:
            fail(f"{where}: runAsNonRoot is not set")
        if csc.get("readOnlyRootFilesystem") is not True:
            fail(f"{where}: readOnlyRootFilesystem is not set")
        if csc.get("allowPrivilegeEscalation") is not False:
            fail(f"{where}: allowPrivilegeEscalation is not false")
        if "ALL" not in (csc.get("capabilities") or {}).get("drop", []):
            fail(f"{where}: capabilities are not all dropped")

        # Every file path handed to the server must be on a mounted volume.
        volumes = {v["name"] for v in pod.get("volumes", [])}
        mounts = c.get("volumeMounts", [])
        for m in mounts:
            if m["name"] not in volumes:
                fail(f"{where}: volumeMount {m['name']} has no volume")
        for var in ("SUNDESK_TLS_CERT", "SUNDESK_TLS_KEY", "SUNDESK_TLS_CLIENT_CA"):
            path = env.get(var)
            if isinstance(path, str) and not any(
                    path.startswith(m["mountPath"].rstrip("/") + "/") for m in mounts):
                fail(f"{where}: {var}={path} is not under any volumeMount")

        if name in hpas and "replicas" in d["spec"]:
            fail(f"{where}: has replicas although an HPA scales it (apply would reset it)")
        if name not in hpas and "replicas" not in d["spec"]:
            fail(f"{where}: neither replicas nor an HPA")

    pod_labels = {n: d["spec"]["template"]["metadata"].get("labels", {})
                  for n, d in deployments.items()}

    def matching(selector):
        return [n for n, labels in pod_labels.items() if selector and selects(selector, labels)]

    for name, s in by_kind.get("Service", {}).items():
        hits = matching(s["spec"].get("selector", {}))
        if len(hits) != 1:
            fail(f"Service {name}: selector matches {hits}, want exactly one Deployment")
            continue
        c = deployments[hits[0]]["spec"]["template"]["spec"]["containers"][0]
        cports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        for p in s["spec"]["ports"]:
            if p.get("targetPort") not in cports and p.get("targetPort") not in cports.values():
                fail(f"Service {name}: targetPort {p.get('targetPort')} is not a container port")
        ann = s["metadata"].get("annotations", {})
        if ann.get("prometheus.io/scrape") == "true":
            if int(ann.get("prometheus.io/port", -1)) != cports.get("metrics"):
                fail(f"Service {name}: prometheus.io/port {ann.get('prometheus.io/port')} "
                     f"is not the metrics port {cports.get('metrics')}")

    for name, pdb in by_kind.get("PodDisruptionBudget", {}).items():
        hits = matching(pdb["spec"]["selector"].get("matchLabels", {}))
        if len(hits) != 1:
            fail(f"PodDisruptionBudget {name}: selects {hits}, want exactly one Deployment")
        if "minAvailable" in pdb["spec"]:
            fail(f"PodDisruptionBudget {name}: use maxUnavailable (minAvailable blocks drains "
                 "at one replica)")

    for name, h in hpas.items():
        target = h["spec"]["scaleTargetRef"]
        if target.get("kind") != "Deployment" or target.get("name") not in deployments:
            fail(f"HorizontalPodAutoscaler {name}: target {target} is not in the output")
        if not h["spec"].get("minReplicas", 1) <= h["spec"]["maxReplicas"]:
            fail(f"HorizontalPodAutoscaler {name}: minReplicas > maxReplicas")
        if not any(m.get("resource", {}).get("name") == "cpu" for m in h["spec"]["metrics"]):
            fail(f"HorizontalPodAutoscaler {name}: does not scale on CPU")

    monitors = by_kind.get("PodMonitor", {})
    if monitors:
        for name, s in by_kind.get("Service", {}).items():
            if "prometheus.io/scrape" in s["metadata"].get("annotations", {}):
                fail(f"Service {name}: scrape annotations and a PodMonitor: scraped twice")
        for name, pm in monitors.items():
            hits = matching(pm["spec"]["selector"].get("matchLabels", {}))
            if sorted(hits) != sorted(deployments):
                fail(f"PodMonitor {name}: selects {hits}, want every service")

    # What each overlay promises.
    if overlay in ("base", "podmonitor"):
        for name in deployments:
            if name not in hpas:
                fail(f"{overlay}: {name} has no HorizontalPodAutoscaler")
    elif overlay == "dev":
        if hpas:
            fail(f"dev: HPAs {sorted(hpas)} would scale past one replica")
        for name, d in deployments.items():
            if d["spec"].get("replicas") != 1:
                fail(f"dev: {name} has replicas {d['spec'].get('replicas')}, want 1")
        for name, cm in configmaps.items():
            boot = cm.get("data", {}).get("SUNDESK_KAFKA_BOOTSTRAP", "")
            if boot and ".svc" not in boot:
                fail(f"dev: Kafka bootstrap {boot} is not an in-cluster Service")
    elif overlay == "prod":
        for name, d in deployments.items():
            h = hpas.get(name)
            if h is None or h["spec"].get("minReplicas", 1) < 3:
                fail(f"prod: {name} may run fewer than 3 replicas")
            pod = d["spec"]["template"]["spec"]
            terms = ((pod.get("affinity") or {}).get("podAntiAffinity") or {})
            terms = [t.get("podAffinityTerm", t) for key in terms for t in terms[key]]
            own = d["spec"]["selector"]["matchLabels"]
            if not any(t.get("topologyKey") == "topology.kubernetes.io/zone"
                       and t.get("labelSelector", {}).get("matchLabels") == own for t in terms):
                fail(f"prod: {name} has no zone anti-affinity on its own pods")
            c = pod["containers"][0]
            env_cms = [configmaps.get(r["configMapRef"]["name"], {}).get("data", {})
                       for r in c.get("envFrom", []) if "configMapRef" in r]
            if not any("SUNDESK_TLS_CLIENT_CA" in data for data in env_cms):
                fail(f"prod: {name} does not get SUNDESK_TLS_CLIENT_CA (mTLS)")
            secrets = [v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v]
            if f"{name}-tls" not in secrets:
                fail(f"prod: {name} does not mount its own Secret {name}-tls")


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("base", "dev", "prod", "podmonitor"):
        print(__doc__, file=sys.stderr)
        return 2
    k8s, overlay = sys.argv[1], sys.argv[2]
    try:
        import yaml  # noqa: PLC0415 (optional dependency: skip without it)
    except ImportError:
        print("SKIP: PyYAML is not installed")
        return SKIP

    if overlay == "podmonitor":
        # The component only exists inside a kustomization: wrap the base in one.
        tmp = tempfile.mkdtemp()
        try:
            with open(os.path.join(tmp, "kustomization.yaml"), "w") as f:
                f.write("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                        f"resources: [{os.path.relpath(os.path.join(k8s, 'base'), tmp)}]\n"
                        "components: ["
                        f"{os.path.relpath(os.path.join(k8s, 'components/podmonitor'), tmp)}]\n")
            text = render(tmp)
        finally:
            shutil.rmtree(tmp)
    else:
        text = render(os.path.join(k8s, "base" if overlay == "base" else f"overlays/{overlay}"))

    objs = [o for o in yaml.safe_load_all(text) if o]
    check(objs, overlay)
    for e in errors:
        print(f"FAIL: {e}")
    kinds = sorted({o["kind"] for o in objs})
    print(f"{overlay}: {len(objs)} objects ({', '.join(kinds)}), {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

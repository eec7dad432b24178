#!/usr/bin/python3
"""Schema check of the Kubernetes manifests in deploy/<app>/ (kubectl is not packaged in
Debian 12, so `kubectl apply --dry-run=client` cannot run here).

Checks what a client-side dry run would catch and what breaks a rollout silently:
every resource of kustomization.yaml parses and has apiVersion/kind/metadata.name with the
apiVersion its kind lives in; workloads (StatefulSet, DaemonSet) select their own pod
labels, have named containers with images, unique port names (<= 15 chars), probes and
Services that name ports the pods declare, volume mounts backed by volumes, ConfigMaps and
ServiceAccounts that the kustomization defines; a StatefulSet's serviceName is a headless
Service; RBAC bindings name roles and accounts that exist; and each ConfigMap's embedded
`*.toml` passes `<daemon> validate` with the environment the pod gives it (env values,
placeholders for fieldRefs) and dummy files where the pod mounts its Secrets.

It does not check the full OpenAPI schema (unknown fields, every type) the way the API
server would. Usage: k8s_manifests_check.py <deploy-dir> <daemon-binary>
"""
import os
import re
import subprocess
import sys
import tempfile
import tomllib

import yaml

API_VERSIONS = {
    "Namespace": "v1", "ConfigMap": "v1", "Service": "v1", "ServiceAccount": "v1",
    "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "Deployment": "apps/v1",
    "PodDisruptionBudget": "policy/v1",
    "ClusterRole": "rbac.authorization.k8s.io/v1",
    "ClusterRoleBinding": "rbac.authorization.k8s.io/v1",
    "Role": "rbac.authorization.k8s.io/v1", "RoleBinding": "rbac.authorization.k8s.io/v1",
}
WORKLOADS = ("StatefulSet", "DaemonSet", "Deployment")

problems = []


def fail(where, message):
    problems.append(f"{where}: {message}")


def load(deploy):
    with open(os.path.join(deploy, "kustomization.yaml")) as f:
        kust = yaml.safe_load(f)
    if kust.get("kind") != "Kustomization":
        fail("kustomization.yaml", "kind is not Kustomization")
    docs = []
    for res in kust.get("resources", []):
        path = os.path.join(deploy, res)
        if not os.path.isfile(path):
            fail("kustomization.yaml", f"resource {res} does not exist")
            continue
        with open(path) as f:
            for doc in yaml.safe_load_all(f):
                if doc:
                    docs.append((res, doc))
    return kust, docs


def check_basics(res, doc):
    kind = doc.get("kind")
    name = (doc.get("metadata") or {}).get("name")
    where = f"{res} {kind}/{name}"
    if not kind or not name:
        fail(res, "a document without kind or metadata.name")
        return where
    if kind not in API_VERSIONS:
        fail(where, "kind this check does not know (add it to API_VERSIONS)")
    elif doc.get("apiVersion") != API_VERSIONS[kind]:
        fail(where, f"apiVersion {doc.get('apiVersion')}, expected {API_VERSIONS[kind]}")
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name) or len(name) > 253:
        fail(where, "metadata.name is not a DNS subdomain name")
    return where


def check_workload(where, doc, by_kind):
    spec = doc.get("spec") or {}
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    match = ((spec.get("selector") or {}).get("matchLabels")) or {}
    if not match:
        fail(where, "spec.selector.matchLabels is empty")
    for k, v in match.items():
        if labels.get(k) != v:
            fail(where, f"selector {k}={v} does not match the pod template's labels")
    pod = template.get("spec") or {}
    containers = pod.get("containers") or []
    if not containers:
        fail(where, "no containers")
    volumes = {v.get("name"): v for v in pod.get("volumes") or []}
    claim_names = {(c.get("metadata") or {}).get("name")
                   for c in spec.get("volumeClaimTemplates") or []}
    sa = pod.get("serviceAccountName")
    if sa and sa not in by_kind.get("ServiceAccount", {}):
        fail(where, f"serviceAccountName {sa} is not defined here")
    for name, vol in volumes.items():
        cm = (vol.get("configMap") or {}).get("name")
        if cm and cm not in by_kind.get("ConfigMap", {}):
            fail(where, f"volume {name} names ConfigMap {cm}, which is not defined here")
    if doc["kind"] == "StatefulSet":
        svc = by_kind.get("Service", {}).get(spec.get("serviceName"))
        if not svc:
            fail(where, f"serviceName {spec.get('serviceName')} is not a Service defined here")
        elif (svc.get("spec") or {}).get("clusterIP") != "None":
            fail(where, f"serviceName {spec.get('serviceName')} is not headless (clusterIP: None)")
    ports = {}
    for c in containers:
        cw = f"{where} container {c.get('name')}"
        if not c.get("name") or not c.get("image"):
            fail(cw, "a container needs a name and an image")
        for p in c.get("ports") or []:
            pname = p.get("name")
            if not isinstance(p.get("containerPort"), int):
                fail(cw, f"port {pname} has no integer containerPort")
            if pname:
                if len(pname) > 15 or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", pname):
                    fail(cw, f"port name {pname} is not an IANA service name (<= 15 chars)")
                if pname in ports:
                    fail(cw, f"port name {pname} used twice")
                ports[pname] = p
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            get = ((c.get(probe) or {}).get("httpGet")) or {}
            port = get.get("port")
            if isinstance(port, str) and port not in ports:
                fail(cw, f"{probe} names port {port}, which the container does not declare")
        for m in c.get("volumeMounts") or []:
            if m.get("name") not in volumes and m.get("name") not in claim_names:
                fail(cw, f"volumeMount {m.get('name')} has no volume or volumeClaimTemplate")
            if not str(m.get("mountPath", "")).startswith("/"):
                fail(cw, f"volumeMount {m.get('name')} mountPath is not absolute")
    return labels, ports


def check_service(where, doc, workloads):
    spec = doc.get("spec") or {}
    selector = spec.get("selector") or {}
    pods = [(labels, ports) for labels, ports in workloads
            if selector and all(labels.get(k) == v for k, v in selector.items())]
    if not pods:
        fail(where, f"selector {selector} matches no workload's pods")
        return
    for p in spec.get("ports") or []:
        if not isinstance(p.get("port"), int):
            fail(where, f"port {p.get('name')} has no integer port")
        target = p.get("targetPort", p.get("name"))
        if isinstance(target, str) and not any(target in ports for _, ports in pods):
            fail(where, f"port {p.get('name')} targets {target}, which no selected pod declares")


def check_rbac(where, doc, by_kind, namespace):
    if doc["kind"] in ("ClusterRole", "Role"):
        for rule in doc.get("rules") or []:
            for field in ("apiGroups", "resources", "verbs"):
                if not rule.get(field):
                    fail(where, f"a rule without {field}")
    else:
        ref = doc.get("roleRef") or {}
        if ref.get("name") not in by_kind.get(ref.get("kind"), {}):
            fail(where, f"roleRef {ref.get('kind')}/{ref.get('name')} is not defined here")
        for s in doc.get("subjects") or []:
            if s.get("kind") == "ServiceAccount":
                if s.get("name") not in by_kind.get("ServiceAccount", {}):
                    fail(where, f"subject ServiceAccount {s.get('name')} is not defined here")
                if s.get("namespace") != namespace:
                    fail(where, f"subject namespace {s.get('namespace')} is not the "
                                f"kustomization's namespace {namespace}")


def check_embedded_config(where, cm_name, doc, workload_docs, daemon):
    """Each *.toml of the ConfigMap validates with what the pods that mount it provide."""
    for key, text in (doc.get("data") or {}).items():
        if not key.endswith(".toml"):
            continue
        try:
            tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            fail(where, f"{key} is not valid TOML: {e}")
            continue
        users = []
        for wdoc in workload_docs:
            pod = wdoc["spec"]["template"]["spec"]
            if any((v.get("configMap") or {}).get("name") == cm_name
                   for v in pod.get("volumes") or []):
                users.append((wdoc["metadata"]["name"], pod))
        if not users:
            fail(where, f"no workload mounts this ConfigMap ({key} is never used)")
        for workload_name, pod in users:
            env = dict(os.environ)
            with tempfile.TemporaryDirectory() as tmp:
                secret_vols = {v["name"] for v in pod.get("volumes") or [] if "secret" in v}
                body = text
                for c in pod["containers"]:
                    for e in c.get("env") or []:
                        # A fieldRef (metadata.name) is the pod's name: the first replica's.
                        env[e["name"]] = str(e.get("value", f"{workload_name}-0"))
                    for m in c.get("volumeMounts") or []:
                        if m["name"] not in secret_vols:
                            continue
                        # The Secret's files: every file the config names below the mount.
                        for f in set(re.findall(re.escape(m["mountPath"]) + r"/([\w.-]+)", body)):
                            with open(os.path.join(tmp, f), "w") as out:
                                out.write("0123456789abcdef0123456789abcdef\n")
                        body = body.replace(m["mountPath"], tmp)
                path = os.path.join(tmp, key)
                with open(path, "w") as out:
                    out.write(body)
                r = subprocess.run([daemon, "validate", "--config", path], env=env,
                                   capture_output=True, text=True, timeout=30)
                if r.returncode != 0:
                    fail(where, f"{key} does not validate with {os.path.basename(daemon)}:\n"
                                f"{r.stdout}{r.stderr}")


def main():
    os.umask(0o077)  # secret files we write: the daemons refuse world-readable ones
    if len(sys.argv) != 3:
        sys.exit("usage: k8s_manifests_check.py <deploy-dir> <daemon-binary>")
    deploy, daemon = sys.argv[1], sys.argv[2]
    kust, docs = load(deploy)
    namespace = kust.get("namespace")
    by_kind = {}
    for res, doc in docs:
        by_kind.setdefault(doc.get("kind"), {})[(doc.get("metadata") or {}).get("name")] = doc
    wheres = [(check_basics(res, doc), doc) for res, doc in docs]
    workloads, workload_docs = [], []
    for where, doc in wheres:
        if doc.get("kind") in WORKLOADS:
            workloads.append(check_workload(where, doc, by_kind))
            workload_docs.append(doc)
    if not workload_docs:
        fail(deploy, "no StatefulSet, DaemonSet or Deployment")
    for where, doc in wheres:
        kind = doc.get("kind")
        if kind == "Service":
            check_service(where, doc, workloads)
        elif kind == "PodDisruptionBudget":
            sel = ((doc.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            if not any(all(lb.get(k) == v for k, v in sel.items()) for lb, _ in workloads):
                fail(where, f"selector {sel} matches no workload's pods")
        elif kind in ("ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding"):
            check_rbac(where, doc, by_kind, namespace)
        elif kind == "ConfigMap":
            check_embedded_config(where, doc["metadata"]["name"], doc, workload_docs, daemon)
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print(f"{deploy}: {len(docs)} resources consistent; embedded configs validate")


if __name__ == "__main__":
    main()

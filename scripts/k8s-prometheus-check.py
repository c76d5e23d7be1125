#!/usr/bin/env python3
"""Checks the Prometheus configuration of a rendered overlay against the pods it would find.

The observability component's Prometheus finds its targets through the API server (Kubernetes
service discovery, role `pod`), which no static check can reach. So this script plays the API
server's part with what the rendered manifests hold: for every pod template it makes the
targets the `pod` role would make (one per declared container port, with its
`__meta_kubernetes_*` labels, the pod at a made-up IP address), hands them to a real Prometheus
through file service discovery in place of the Kubernetes one, and lets `promtool check
service-discovery` apply each job's relabelling. Then it checks what comes out:

- every pod with a sailkit proxy (a container port named mesh-admin) is scraped at that port
  on /stats/prometheus, labelled with its pod's `app` and `version`;
- every pod annotated prometheus.io/scrape "true" is scraped at its annotated port and path;
- nothing else is scraped, and nothing twice.

Usage: k8s-prometheus-check.py RENDERED.yaml   (kubectl kustomize's output)
Needs promtool (Debian's `prometheus` package, which .ci/run installs) and PyYAML.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

CONFIG_MAP = "prometheus-config"
CONFIG_KEY = "prometheus.yml"
PROXY_PORT_NAME = "mesh-admin"
PROXY_PATH = "/stats/prometheus"
ANNOTATION = "prometheus.io/"
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")


class CheckError(Exception):
    pass


def label_name(name):
    """A Kubernetes label or annotation name as Prometheus writes it in a meta label."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def pods_of(objects):
    """One pod per workload's template: (name, namespace, ip, labels, annotations, ports)."""
    pods = []
    for obj in objects:
        if obj.get("kind") not in WORKLOADS:
            continue
        meta = obj.get("metadata") or {}
        template = (obj.get("spec") or {}).get("template") or {}
        template_meta = template.get("metadata") or {}
        ports = []
        for container in (template.get("spec") or {}).get("containers") or []:
            for port in container.get("ports") or []:
                ports.append((container.get("name", ""), port.get("name", ""),
                              port["containerPort"]))
        pods.append({
            "name": f"{meta['name']}-0",
            "namespace": meta.get("namespace", "default"),
            "ip": f"10.0.{len(pods) // 250}.{len(pods) % 250 + 1}",
            "labels": template_meta.get("labels") or {},
            "annotations": template_meta.get("annotations") or {},
            "ports": ports,
        })
    return pods


def discovered_targets(pods):
    """The targets the `pod` role makes: one per container port, with the meta labels."""
    groups = []
    for pod in pods:
        common = {
            "__meta_kubernetes_namespace": pod["namespace"],
            "__meta_kubernetes_pod_name": pod["name"],
            "__meta_kubernetes_pod_ip": pod["ip"],
            "__meta_kubernetes_pod_phase": "Running",
            "__meta_kubernetes_pod_ready": "true",
        }
        for key, value in pod["labels"].items():
            common[f"__meta_kubernetes_pod_label_{label_name(key)}"] = str(value)
            common[f"__meta_kubernetes_pod_labelpresent_{label_name(key)}"] = "true"
        for key, value in pod["annotations"].items():
            common[f"__meta_kubernetes_pod_annotation_{label_name(key)}"] = str(value)
            common[f"__meta_kubernetes_pod_annotationpresent_{label_name(key)}"] = "true"
        for container, port_name, number in pod["ports"]:
            labels = dict(common)
            labels["__meta_kubernetes_pod_container_name"] = container
            labels["__meta_kubernetes_pod_container_port_name"] = port_name
            labels["__meta_kubernetes_pod_container_port_number"] = str(number)
            labels["__meta_kubernetes_pod_container_port_protocol"] = "TCP"
            groups.append({"targets": [f"{pod['ip']}:{number}"], "labels": labels})
    return groups


def prometheus_config(objects):
    """The text of prometheus.yml in the rendered ConfigMap prometheus-config(-hash)."""
    for obj in objects:
        name = (obj.get("metadata") or {}).get("name", "")
        if obj.get("kind") == "ConfigMap" and re.fullmatch(f"{CONFIG_MAP}(-[a-z0-9]+)?", name):
            data = obj.get("data") or {}
            if CONFIG_KEY not in data:
                raise CheckError(f"ConfigMap {name} has no key {CONFIG_KEY}")
            return data[CONFIG_KEY]
    raise CheckError(f"no ConfigMap {CONFIG_MAP} in the rendered manifests")


def with_file_discovery(config, targets_file):
    """The configuration with every Kubernetes discovery of pods read from targets_file."""
    for job in config.get("scrape_configs") or []:
        sd_configs = job.pop("kubernetes_sd_configs", None)
        if sd_configs is None:
            continue
        for sd in sd_configs:
            if sd.get("role") != "pod":
                raise CheckError(f"job {job['job_name']}: role {sd.get('role')!r}; this check "
                                 "plays the API server for the role `pod` only")
        job["file_sd_configs"] = [{"files": [str(targets_file)]}]
    return config


def promtool(*args):
    result = subprocess.run(["promtool", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise CheckError(f"promtool {' '.join(args)}:\n{result.stdout}{result.stderr}")
    return result.stdout


def scraped(config_file, jobs):
    """(job, address, path, labels) of every target each job keeps after its relabelling."""
    kept = []
    for job in jobs:
        out = promtool("check", "service-discovery", "--timeout=3s", str(config_file), job)
        for target in json.loads(out):
            labels = target.get("labels") or {}
            if labels:
                kept.append((job, labels["__address__"], labels["__metrics_path__"], labels))
    return kept


def expected(pods):
    """address -> (path, pod, why) of what must be scraped."""
    want = {}
    for pod in pods:
        for _, port_name, number in pod["ports"]:
            if port_name == PROXY_PORT_NAME:
                want[f"{pod['ip']}:{number}"] = (PROXY_PATH, pod, "its sailkit proxy")
        annotations = pod["annotations"]
        if annotations.get(f"{ANNOTATION}scrape") == "true":
            port = annotations.get(f"{ANNOTATION}port")
            path = annotations.get(f"{ANNOTATION}path", "/metrics")
            address = f"{pod['ip']}:{port}"
            if address in want and want[address][0] != path:
                raise CheckError(f"pod {pod['name']}: port {port} asked for at both "
                                 f"{want[address][0]} and {path}")
            want[address] = (path, pod, "its prometheus.io annotations")
    return want


def compare(pods, kept):
    problems = []
    by_ip = {pod["ip"]: pod for pod in pods}
    want = expected(pods)
    seen = {}
    for job, address, path, labels in kept:
        seen.setdefault(address, []).append((job, path, labels))
    for address, (path, pod, why) in sorted(want.items()):
        hits = seen.get(address, [])
        where = f"pod {pod['name']} ({why}): {address}{path}"
        if not hits:
            problems.append(f"{where} is not scraped")
            continue
        if len(hits) > 1:
            problems.append(f"{where} is scraped {len(hits)} times, by the jobs "
                            f"{', '.join(job for job, _, _ in hits)}")
        for job, got_path, labels in hits:
            if got_path != path:
                problems.append(f"{where} is scraped on {got_path} by the job {job}")
            for label in ("app", "version"):
                if labels.get(label) != pod["labels"].get(label):
                    problems.append(f"{where}: the job {job} labels it {label}="
                                    f"{labels.get(label)!r}, its pod's label is "
                                    f"{pod['labels'].get(label)!r}")
    for address, hits in sorted(seen.items()):
        if address not in want:
            pod = by_ip.get(address.split(":")[0], {"name": "?"})
            for job, path, _ in hits:
                problems.append(f"pod {pod['name']}: {address}{path} is scraped by the job "
                                f"{job}, but asks for no scrape")
    return problems, want


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rendered", type=Path)
    args = parser.parse_args()
    try:
        objects = [o for o in yaml.safe_load_all(args.rendered.read_text()) if o]
        config = yaml.safe_load(prometheus_config(objects))
        pods = pods_of(objects)
        with tempfile.TemporaryDirectory(prefix="sailkit-prometheus-check.") as work:
            targets_file = Path(work) / "targets.json"
            targets_file.write_text(json.dumps(discovered_targets(pods)))
            config_file = Path(work) / CONFIG_KEY
            config_file.write_text(yaml.safe_dump(with_file_discovery(config, targets_file)))
            promtool("check", "config", str(config_file))
            jobs = [job["job_name"] for job in config.get("scrape_configs") or []]
            kept = scraped(config_file, jobs)
        problems, want = compare(pods, kept)
    except (CheckError, OSError, yaml.YAMLError, KeyError, json.JSONDecodeError) as error:
        print(f"{args.rendered}: {error}", file=sys.stderr)
        return 1
    for problem in problems:
        print(f"{args.rendered}: {problem}", file=sys.stderr)
    if problems:
        return 1
    per_job = {}
    for job, _, _, labels in kept:
        per_job.setdefault(job, []).append(labels.get("app", "?"))
    print(f"{args.rendered}: {len(pods)} pods, {len(want)} targets, each scraped once as asked: "
          + "; ".join(f"job {job}: {', '.join(sorted(apps))}" for job, apps in per_job.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

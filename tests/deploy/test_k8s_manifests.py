"""deploy/k8s rendered offline: every overlay builds, every object passes its schema, and the
rules every service keeps (probes, resources, non-root, network paths, pinned images, the
topics' partitions and retention) hold in each.

Core objects are checked by kubernetes-validate in strict mode; CloudNativePG's ``Cluster``
against the CRD of its Go module (scripts/deploy/crds.sh fetches it once into .dev/), made
strict the way the API server's field validation is; Strimzi ships its CRDs in no registry
package, so its resources' required fields are checked by hand.
"""

from __future__ import annotations

import copy
import re
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import kubernetes_validate.utils  # type: ignore[import-untyped]
import pytest
import yaml

from wangge.events.kafka import DEFAULT_PARTITIONS
from wangge.service.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if p.is_dir())
KUBERNETES_VERSION = "1.33"

# the k8s name of each service and its settings' name (its topic's middle part)
SERVICES = {
    "registry": "registry",
    "hotline-bridge": "hotline_bridge",
    "cases": "cases",
    "training": "training",
    "views": "views",
}
# the topics of the services that record events (the views service records its own too)
TOPICS = {f"wangge.{name}.events" for name in SERVICES.values()}
CORE_GROUPS = ("", "apps", "batch", "autoscaling", "policy", "networking.k8s.io")

Obj = dict[str, Any]


def _render(overlay: str) -> list[Obj]:
    done = subprocess.run(
        [str(ROOT / "scripts" / "deploy" / "kustomize.sh"), str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"{overlay} does not render:\n{done.stderr}"
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="session", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[Obj]]:
    overlay: str = request.param
    return overlay, _render(overlay)


@pytest.fixture(scope="session")
def schemas() -> Iterator[None]:
    """kubernetes-validate with its schema files read once: it reads the 1.4 MB definitions
    file again for every object it validates (3 s for an overlay; 0.2 s so)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            kubernetes_validate.utils,
            "schema_contents",
            cache(kubernetes_validate.utils.schema_contents),
        )
        yield


@pytest.fixture(scope="session")
def crd_dir() -> Path:
    done = subprocess.run(
        [str(ROOT / "scripts" / "deploy" / "crds.sh")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"CloudNativePG's CRDs could not be had:\n{done.stderr}"
    return Path(done.stdout.strip().splitlines()[-1])


def _group(obj: Obj) -> str:
    api_version: str = obj["apiVersion"]
    return api_version.split("/")[0] if "/" in api_version else ""


def _of(objs: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objs if o["kind"] == kind]


def _named(objs: list[Obj], kind: str, name: str) -> Obj:
    [found] = [o for o in _of(objs, kind) if o["metadata"]["name"] == name]
    return found


def _selects(selector: Obj, labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions) selects these labels."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _pod_specs(objs: list[Obj]) -> Iterator[tuple[Obj, Obj]]:
    for obj in objs:
        if obj["kind"] in ("Deployment", "Job"):
            yield obj, obj["spec"]["template"]


# -- schemas -------------------------------------------------------------------------------


def test_every_core_object_passes_the_kubernetes_schema_strictly(
    rendered: tuple[str, list[Obj]], schemas: None
) -> None:
    overlay, objs = rendered
    core = [o for o in objs if _group(o) in CORE_GROUPS]
    assert core
    for obj in core:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(p) for p in error.path)
            pytest.fail(f"{overlay}: {obj['kind']}/{obj['metadata']['name']}: {where}: {error}")
    assert not [
        o for o in objs if _group(o) not in (*CORE_GROUPS, "kafka.strimzi.io", "postgresql.cnpg.io")
    ], "an object of a group no check covers"


def _strict(schema: Obj) -> Obj:
    """The CRD's schema with unknown fields refused, as the API server's strict field validation
    does (jsonschema alone would let a misspelt field through, and the server would prune it)."""
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if (
                node.get("type") == "object"
                and "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    # metadata is ObjectMeta, which the CRD leaves open
    schema["properties"]["metadata"] = {"type": "object"}
    return schema


@cache
def _crd_schema(path: Path, version: str) -> Obj:
    crd = yaml.safe_load(path.read_text())
    [served] = [v for v in crd["spec"]["versions"] if v["name"] == version]
    return _strict(served["schema"]["openAPIV3Schema"])


def test_cloudnative_pg_clusters_pass_the_operators_crd(
    rendered: tuple[str, list[Obj]], crd_dir: Path
) -> None:
    overlay, objs = rendered
    clusters = [o for o in objs if _group(o) == "postgresql.cnpg.io"]
    assert {o["kind"] for o in clusters} == {"Cluster"}
    schema = _crd_schema(crd_dir / "postgresql.cnpg.io_clusters.yaml", "v1")
    for cluster in clusters:
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(cluster), key=str)
        assert not errors, f"{overlay}: Cluster/{cluster['metadata']['name']}: " + "; ".join(
            f"{'.'.join(map(str, e.path))}: {e.message}" for e in errors
        )


def test_the_crd_check_refuses_an_unknown_field(crd_dir: Path) -> None:
    schema = _crd_schema(crd_dir / "postgresql.cnpg.io_clusters.yaml", "v1")
    cluster: Obj = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": "x"},
        "spec": {"instances": 1, "storage": {"size": "1Gi", "sizee": "2Gi"}},
    }
    assert not jsonschema.Draft7Validator(schema).is_valid(cluster)
    del cluster["spec"]["storage"]["sizee"]
    assert jsonschema.Draft7Validator(schema).is_valid(cluster)


# required fields of Strimzi's v1beta2 CRDs (no registry package ships them to validate against)
STRIMZI_REQUIRED: dict[str, list[tuple[str, ...]]] = {
    "Kafka": [("spec",), ("spec", "kafka"), ("spec", "kafka", "listeners")],
    "KafkaNodePool": [("spec",), ("spec", "replicas"), ("spec", "roles"), ("spec", "storage")],
    "KafkaTopic": [("spec",)],
}


def _get(obj: Obj, path: tuple[str, ...]) -> Any:
    node: Any = obj
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def test_strimzi_resources_have_the_fields_their_crds_require(
    rendered: tuple[str, list[Obj]],
) -> None:
    overlay, objs = rendered
    strimzi = [o for o in objs if _group(o) == "kafka.strimzi.io"]
    assert {o["kind"] for o in strimzi} == set(STRIMZI_REQUIRED)
    for obj in strimzi:
        assert obj["apiVersion"] == "kafka.strimzi.io/v1beta2"
        name = f"{overlay}: {obj['kind']}/{obj['metadata']['name']}"
        for path in STRIMZI_REQUIRED[obj["kind"]]:
            assert _get(obj, path) is not None, f"{name} lacks {'.'.join(path)}"
        if obj["kind"] != "Kafka":
            assert obj["metadata"]["labels"]["strimzi.io/cluster"] == "wangge", name
    [kafka] = _of(objs, "Kafka")
    annotations = kafka["metadata"]["annotations"]
    assert annotations["strimzi.io/kraft"] == "enabled"
    assert annotations["strimzi.io/node-pools"] == "enabled"
    for listener in kafka["spec"]["kafka"]["listeners"]:
        assert {"name", "port", "type", "tls"} <= set(listener), listener
    roles = {r for pool in _of(objs, "KafkaNodePool") for r in pool["spec"]["roles"]}
    assert roles == {"controller", "broker"}
    for pool in _of(objs, "KafkaNodePool"):
        assert pool["spec"]["storage"]["type"] in ("jbod", "persistent-claim"), pool


# -- rules every service keeps ------------------------------------------------------------


def test_each_service_has_a_deployment_service_job_hpa_and_pdb(
    rendered: tuple[str, list[Obj]],
) -> None:
    overlay, objs = rendered
    for svc in SERVICES:
        name = f"wangge-{svc}"
        deployment = _named(objs, "Deployment", name)
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        service = _named(objs, "Service", name)
        assert _selects({"matchLabels": service["spec"]["selector"]}, labels), overlay
        assert [p["port"] for p in service["spec"]["ports"]] == [8000]
        hpa = _named(objs, "HorizontalPodAutoscaler", name)
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        # the HPA owns the count: a replicas field would be reset by every apply
        assert "replicas" not in deployment["spec"], name
        pdb = _named(objs, "PodDisruptionBudget", name)
        assert _selects(pdb["spec"]["selector"], labels), name
        [job] = [
            j
            for j in _of(objs, "Job")
            if j["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == name
        ]
        [migrate] = job["spec"]["template"]["spec"]["containers"]
        assert migrate["command"] == ["wangge", svc, "migrate"]


def test_each_deployment_probes_limits_and_runs_unprivileged(
    rendered: tuple[str, list[Obj]],
) -> None:
    overlay, objs = rendered
    for deployment in _of(objs, "Deployment"):
        name = f"{overlay}: {deployment['metadata']['name']}"
        pod = deployment["spec"]["template"]["spec"]
        [container] = pod["containers"]
        svc = deployment["metadata"]["name"].removeprefix("wangge-")
        assert container["command"] == [
            "wangge",
            svc,
            "run",
            "--host",
            "0.0.0.0",  # noqa: S104 (the pod's own address, behind its NetworkPolicy)
            "--port",
            "8000",
            "--no-migrate-first",
        ], name
        assert [p["containerPort"] for p in container["ports"]] == [8000], name
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        for probe in ("livenessProbe", "readinessProbe"):
            assert container[probe]["httpGet"]["port"] in (8000, "http"), name
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == "8000", name
        spreads = pod["topologySpreadConstraints"]
        keys = {s["topologyKey"] for s in spreads}
        assert {"topology.kubernetes.io/zone", "kubernetes.io/hostname"} <= keys, name
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert all(_selects(s["labelSelector"], labels) for s in spreads), name


def test_every_pod_has_resources_runs_as_non_root_on_a_read_only_root(
    rendered: tuple[str, list[Obj]],
) -> None:
    overlay, objs = rendered
    for obj, template in _pod_specs(objs):
        name = f"{overlay}: {obj['kind']}/{obj['metadata']['name']}"
        pod = template["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        mounts_needed = {"/tmp", "/var/lib/wangge"}  # noqa: S108 (an emptyDir per pod)
        for container in pod.get("initContainers", []) + pod["containers"]:
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), name
            assert {"cpu", "memory"} <= set(resources["limits"]), name
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security.get("privileged", False) is False, name
            mounted = {m["mountPath"] for m in container.get("volumeMounts", [])}
            # the writable places a read-only root needs: /tmp and WANGGE_DATA_DIR
            assert mounts_needed <= mounted, name
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert "emptyDir" in volumes["tmp"] and "emptyDir" in volumes["data"], name


def test_every_image_is_pinned(rendered: tuple[str, list[Obj]]) -> None:
    overlay, objs = rendered
    images = [
        c["image"]
        for _, template in _pod_specs(objs)
        for c in template["spec"].get("initContainers", []) + template["spec"]["containers"]
    ] + [c["spec"]["imageName"] for c in _of(objs, "Cluster") if "imageName" in c["spec"]]
    assert images
    for image in images:
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        assert "@sha256:" in image or (tag and tag != "latest"), f"{overlay}: {image}"
    wangge = {i for i in images if i.rsplit("/", 1)[-1].startswith("wangge:")}
    assert len(wangge) == 1, f"{overlay}: one image for every service, found {wangge}"


def test_each_migration_job_is_named_after_the_release(rendered: tuple[str, list[Obj]]) -> None:
    # a Job's template cannot change: a new release must apply a Job of a new name
    overlay, objs = rendered
    for job in _of(objs, "Job"):
        [container] = job["spec"]["template"]["spec"]["containers"]
        tag = container["image"].rsplit(":", 1)[1]
        assert job["metadata"]["name"].endswith("-migrate-" + tag.replace(".", "-")), (
            f"{overlay}: Job {job['metadata']['name']} does not carry the image's tag {tag}"
        )


def test_no_secret_values_are_rendered(rendered: tuple[str, list[Obj]]) -> None:
    overlay, objs = rendered
    assert not _of(objs, "Secret"), f"{overlay}: a Secret in git; the cluster's operator makes them"
    for config in _of(objs, "ConfigMap"):
        for key in config.get("data", {}):
            assert not re.search(r"SECRET|PASSWORD|KEY_ENCRYPTION|DATABASE_URL", key), (
                f"{overlay}: {config['metadata']['name']} holds {key}"
            )
    for _, template in _pod_specs(objs):
        for container in template["spec"]["containers"]:
            for env in container.get("env", []):
                if re.search(r"SECRET|KEY_ENCRYPTION|DATABASE_URL|API_KEYS", env["name"]):
                    assert "secretKeyRef" in env.get("valueFrom", {}), (overlay, env)


# -- network paths -------------------------------------------------------------------------


def _policies_for(objs: list[Obj], labels: dict[str, str]) -> list[Obj]:
    return [p for p in _of(objs, "NetworkPolicy") if _selects(p["spec"]["podSelector"], labels)]


def _peer_selects(peer: Obj, labels: dict[str, str]) -> bool:
    """Whether a NetworkPolicy peer lets traffic reach pods of this namespace with ``labels``."""
    if "ipBlock" in peer:
        return False
    if peer.get("namespaceSelector"):
        # another namespace's pods (an empty selector would be every namespace, this one too)
        return False
    return _selects(peer.get("podSelector", {}), labels)


def test_each_service_reaches_only_its_database_kafka_and_dns(
    rendered: tuple[str, list[Obj]],
) -> None:
    overlay, objs = rendered
    pods = {
        svc: _named(objs, "Deployment", f"wangge-{svc}")["spec"]["template"]["metadata"]["labels"]
        for svc in SERVICES
    }
    brokers = {"strimzi.io/cluster": "wangge", "strimzi.io/broker-role": "true"}
    for svc, labels in pods.items():
        name = f"{overlay}: wangge-{svc}"
        policies = _policies_for(objs, labels)
        assert any(p["metadata"]["name"] == f"wangge-{svc}" for p in policies), name
        assert any("Egress" in p["spec"]["policyTypes"] for p in policies), name
        assert any("Ingress" in p["spec"]["policyTypes"] for p in policies), name
        database = {"cnpg.io/cluster": f"wangge-{svc}-db"}
        peers = [
            (peer, rule.get("ports", []))
            for p in policies
            for rule in p["spec"].get("egress", [])
            for peer in rule.get("to", [{}])
        ]
        assert any(_peer_selects(peer, brokers) for peer, _ in peers), f"{name}: no Kafka"
        assert any(_peer_selects(peer, database) for peer, _ in peers), f"{name}: no database"
        for peer, ports in peers:
            assert peer, f"{name}: an egress rule to everywhere"
            for other, other_labels in pods.items():
                if other != svc:
                    assert not _peer_selects(peer, other_labels), f"{name} reaches {other}"
            for other in SERVICES:
                if other != svc:
                    assert not _peer_selects(peer, {"cnpg.io/cluster": f"wangge-{other}-db"}), (
                        f"{name} reaches {other}'s database"
                    )
            if "ipBlock" in peer:
                # only the hotline bridge leaves the cluster (the hotline's callback), and
                # never to a private address, where the cluster's pods are
                assert svc == "hotline-bridge", f"{name}: an address outside the cluster"
                excepted = set(peer["ipBlock"].get("except", []))
                assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} <= excepted, name
                assert [p["port"] for p in ports] == [443], name
        for p in policies:
            for rule in p["spec"].get("ingress", []):
                for peer in rule.get("from", [{}]):
                    assert peer, f"{name}: ingress from everywhere"
                    for other, other_labels in pods.items():
                        if other != svc:
                            assert not _peer_selects(peer, other_labels), f"{other} calls {name}"


def test_each_database_admits_only_its_own_service(rendered: tuple[str, list[Obj]]) -> None:
    overlay, objs = rendered
    for svc in SERVICES:
        db = {"cnpg.io/cluster": f"wangge-{svc}-db"}
        policies = _policies_for(objs, db)
        assert policies, f"{overlay}: wangge-{svc}-db admits anyone"
        for p in policies:
            for rule in p["spec"].get("ingress", []):
                for peer in rule.get("from", [{}]):
                    for other in SERVICES:
                        if other != svc:
                            who = {"app.kubernetes.io/name": f"wangge-{other}"}
                            assert not _peer_selects(peer, who), f"{other} reaches {svc}'s database"


# -- topics --------------------------------------------------------------------------------


def _compose_partitions() -> set[int] | None:
    """The partition counts docker-compose.yml creates its topics with (None: no file yet).

    Each ``--partitions`` in it, given as a number or as a variable (``"$$PARTITIONS"``), whose
    value is read where the file sets it (``PARTITIONS: ${WANGGE_KAFKA_PARTITIONS:-12}`` or
    ``PARTITIONS: 12``); and the default of every ``${WANGGE_KAFKA_PARTITIONS:-N}``.
    """
    path = ROOT / "docker-compose.yml"
    if not path.exists():
        return None
    text = path.read_text()
    found: set[int] = set()
    for given in re.findall(r"--partitions[ =]+\"?(\$*\{?\w+\}?)", text):
        if given.isdigit():
            found.add(int(given))
            continue
        variable = given.strip("${}")
        values = re.findall(rf"\b{variable}\"?\s*[:=]\s*\"?(?:\$\{{\w+:-(\d+)\}}|(\d+))", text)
        assert values, f"docker-compose.yml: --partitions {given} is set nowhere in the file"
        found |= {int(a or b) for a, b in values}
    if not found:
        return set()
    found |= {int(n) for n in re.findall(r"\$\{WANGGE_KAFKA_PARTITIONS:-(\d+)\}", text)}
    return found


def test_topics_have_the_codes_partitions_and_keep_every_event(
    rendered: tuple[str, list[Obj]],
) -> None:
    overlay, objs = rendered
    default = ServiceSettings.model_fields["kafka_partitions"].default
    assert default == DEFAULT_PARTITIONS
    topics = {t["spec"].get("topicName", t["metadata"]["name"]): t for t in _of(objs, "KafkaTopic")}
    assert set(topics) == TOPICS, overlay
    [common] = [
        c for c in _of(objs, "ConfigMap") if c["metadata"]["name"].startswith("wangge-common")
    ]
    assert int(common["data"]["WANGGE_KAFKA_PARTITIONS"]) == default
    for name, topic in topics.items():
        assert topic["spec"]["partitions"] == default, f"{overlay}: {name}"
        config = topic["spec"]["config"]
        # the events are the record: never deleted by time (nor by size)
        assert int(config["retention.ms"]) == -1, f"{overlay}: {name}"
        assert int(config.get("retention.bytes", -1)) == -1, f"{overlay}: {name}"
        assert "compact" not in str(config.get("cleanup.policy", "delete")), f"{overlay}: {name}"
        assert topic["spec"]["replicas"] >= int(config["min.insync.replicas"])


def test_compose_creates_the_topics_with_the_same_partitions() -> None:
    found = _compose_partitions()
    assert found is not None, "docker-compose.yml is missing"
    assert found, "docker-compose.yml names no partition count (--partitions N) for its topics"
    assert found == {ServiceSettings.model_fields["kafka_partitions"].default}, found


def test_compose_creates_the_topics_deploy_k8s_declares() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    [services] = re.findall(r"for service in ([\w ]+); do", text)
    made = {f"wangge.{service}.events" for service in services.split()}
    assert '--topic "wangge.$$service.events"' in text
    assert made == TOPICS

"""``hub deploy plan|render|apply``: the partnership's Kafka topology and least-privilege ACLs.

``plan`` prints topics and grants; ``render --output DIR`` writes the Kafka tool script,
Strimzi resources and Kubernetes manifests; ``apply`` creates topics, SCRAM users and ACLs
through the admin API. All three read the partnership from the settings' folders.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.errors import ConfigError

if TYPE_CHECKING:
    from hub.config import Settings
    from hub.deploy.acls import AclPlan, PlanOptions
    from hub.deploy.topology import Topology, TopologyOptions

# The defaults of hub.deploy's option classes, for the arguments and their help, written
# out: reading them from the classes imported hub.deploy, and with it the agreements, the
# catalogue and pydantic, at every `hub` start (0.3 s). tests/cli/test_startup.py fails
# when one of them parts from the library's.
OPTION_DEFAULTS: dict[str, dict[str, Any]] = {
    "PlanOptions": {"processor_instances": ("hub-processor-0", "hub-processor-1")},
    "TopologyOptions": {"partner_partitions": 6, "share_partitions": 3, "partner_retention": "P7D"},
    "KubernetesOptions": {
        "namespace": "partner-hub",
        "image": "partner-data-hub:0.1.0",
        "cluster": "hub-kafka",
        "bootstrap": "hub-kafka-kafka-bootstrap:9093",
        "schema_registry_url": "http://schema-registry:8080/apis/ccompat/v7",
        "otlp_endpoint": "http://otel-collector:4318",
        "processor_replicas": 2,
    },
}

# Client security for `apply`, named as the hub's services read them (HUB_KAFKA__*).
_SECURITY_ENV = {
    "security_protocol": "HUB_KAFKA__SECURITY_PROTOCOL",
    "sasl_mechanism": "HUB_KAFKA__SASL_MECHANISM",
    "sasl_username": "HUB_KAFKA__SASL_USERNAME",
    "sasl_password_file": "HUB_KAFKA__SASL_PASSWORD_FILE",
    "ssl_ca_location": "HUB_KAFKA__SSL_CA_LOCATION",
}


def _topology_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--replication-factor", type=int, default=3, help="default 3")
    p.add_argument("--min-insync-replicas", type=int, default=2, help="default 2")
    p.add_argument(
        "--transactions",
        action="store_true",
        help="grant the processors' transactional ids (default: the settings' transactions)",
    )
    p.add_argument(
        "--processor-instances",
        default=",".join(OPTION_DEFAULTS["PlanOptions"]["processor_instances"]),
        help="processor instance names, comma-separated: their transactional ids "
        "(default %(default)s)",
    )
    defaults = OPTION_DEFAULTS["TopologyOptions"]
    p.add_argument("--partner-partitions", type=int, default=defaults["partner_partitions"])
    p.add_argument("--share-partitions", type=int, default=defaults["share_partitions"])
    p.add_argument(
        "--partner-retention",
        default=defaults["partner_retention"],
        help="ISO 8601 duration (default %(default)s)",
    )


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "deploy", help="Kafka topics, principals and ACLs for production; Kubernetes renderings"
    )
    sub = p.add_subparsers(dest="deploy_command", required=True)

    plan = sub.add_parser("plan", help="print every topic and every principal's grants")
    _topology_args(plan)
    plan.add_argument("--json", action="store_true", help="one JSON object on stdout")
    plan.set_defaults(handler=handle_plan)

    render = sub.add_parser("render", help="write the script, Strimzi and Kubernetes renderings")
    _topology_args(render)
    render.add_argument("--output", type=Path, required=True, help="folder to write into")
    k8s = OPTION_DEFAULTS["KubernetesOptions"]
    render.add_argument("--namespace", default=k8s["namespace"])
    render.add_argument("--image", default=k8s["image"], help="the hub image")
    render.add_argument("--cluster", default=k8s["cluster"], help="Strimzi Kafka name")
    render.add_argument("--bootstrap", default=k8s["bootstrap"], help="SASL_SSL listener")
    render.add_argument("--registry-url", default=k8s["schema_registry_url"])
    render.add_argument("--otlp-endpoint", default=k8s["otlp_endpoint"])
    render.add_argument("--processor-replicas", type=int, default=k8s["processor_replicas"])
    render.set_defaults(handler=handle_render)

    apply = sub.add_parser("apply", help="create topics, SCRAM users and ACLs (admin API)")
    _topology_args(apply)
    apply.add_argument("--bootstrap", default=None, help="brokers (default HUB_BOOTSTRAP_SERVERS)")
    apply.add_argument(
        "--users-dir",
        type=Path,
        default=None,
        help="set SCRAM-SHA-512 passwords from <principal>.password files in this folder",
    )
    apply.add_argument(
        "--no-acls",
        action="store_true",
        help="topics (and users) only, for brokers without an authorizer (the embedded one)",
    )
    apply.add_argument(
        "--prune", action="store_true", help="remove the plan's principals' ACLs it no longer has"
    )
    for name, env in _SECURITY_ENV.items():
        apply.add_argument(
            f"--{name.replace('_', '-')}", dest=name, default=None, help=f"default ${env}"
        )
    apply.add_argument(
        "--registry-url",
        default=None,
        help="also register every catalogue schema under its partner topics' subjects "
        "(default HUB_SCHEMA_REGISTRY_URL; unset: no registration)",
    )
    apply.add_argument("--timeout", type=float, default=30.0)
    apply.set_defaults(handler=handle_apply)


def _options(args: argparse.Namespace, settings: Settings) -> tuple[TopologyOptions, PlanOptions]:
    from hub.deploy.acls import PlanOptions
    from hub.deploy.topology import TopologyOptions

    topo = TopologyOptions(
        replication_factor=args.replication_factor,
        min_insync_replicas=args.min_insync_replicas,
        partner_partitions=args.partner_partitions,
        share_partitions=args.share_partitions,
        partner_retention=args.partner_retention,
    )
    instances = tuple(i.strip() for i in args.processor_instances.split(",") if i.strip())
    # `transactions` is a settings field being added; until then only the flag turns it on.
    transactions = bool(args.transactions or settings.transactions)
    return topo, PlanOptions(
        transactions=transactions,
        processor_instances=instances,
        processor_group=settings.consumer_group,
        audit_ingest_group=settings.audit_ingest_group,
    )


def build(args: argparse.Namespace) -> tuple[Topology, AclPlan, PlanOptions]:
    from hub.config import load_settings
    from hub.deploy.acls import build_acl_plan
    from hub.deploy.load import load_topology

    settings = load_settings()
    topo_opts, plan_opts = _options(args, settings)
    topology = load_topology(settings.partnership_dir, settings.schemas_dir, topo_opts)
    return topology, build_acl_plan(topology, plan_opts), plan_opts


def handle_plan(args: argparse.Namespace) -> int:
    from hub.deploy.plan_text import plan_document, plan_lines

    topology, plan, _ = build(args)
    if args.json:
        print(json.dumps(plan_document(topology, plan), indent=2))
    else:
        print("\n".join(plan_lines(topology, plan)))
    return 0


def handle_render(args: argparse.Namespace) -> int:
    from hub.deploy.kubernetes import KubernetesOptions
    from hub.deploy.render import render_all, write_rendering

    topology, plan, plan_opts = build(args)
    pods = tuple(f"hub-processor-{i}" for i in range(args.processor_replicas))
    if plan_opts.transactions and plan_opts.processor_instances != pods:
        # The StatefulSet's pod names are the transactional ids the plan must grant.
        raise ConfigError(
            f"with transactions, --processor-instances must be {','.join(pods)} "
            f"for {args.processor_replicas} processor replicas"
        )
    k8s = KubernetesOptions(
        namespace=args.namespace,
        image=args.image,
        cluster=args.cluster,
        bootstrap=args.bootstrap,
        schema_registry_url=args.registry_url,
        otlp_endpoint=args.otlp_endpoint,
        processor_replicas=args.processor_replicas,
        transactions=plan_opts.transactions,
    )
    for path in write_rendering(render_all(topology, plan, k8s), args.output):
        print(path)
    return 0


def admin_config(args: argparse.Namespace, bootstrap: str) -> dict[str, Any]:
    """librdkafka admin settings from the flags, else the HUB_KAFKA__* environment."""
    value = {k: getattr(args, k) or os.environ.get(env) for k, env in _SECURITY_ENV.items()}
    conf: dict[str, Any] = {"bootstrap.servers": bootstrap}
    if value["security_protocol"]:
        conf["security.protocol"] = value["security_protocol"]
    if value["sasl_mechanism"]:
        conf["sasl.mechanism"] = value["sasl_mechanism"]
    if value["sasl_username"]:
        conf["sasl.username"] = value["sasl_username"]
    if value["sasl_password_file"]:
        conf["sasl.password"] = _read_secret(Path(value["sasl_password_file"]))
    if value["ssl_ca_location"]:
        conf["ssl.ca.location"] = value["ssl_ca_location"]
    return conf


def _read_secret(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read secret file {path}: {exc.strerror}") from exc


def user_passwords(folder: Path | None, plan: AclPlan) -> dict[str, bytes]:
    """``<principal>.password`` files for the plan's principals; others are refused, since a
    file for a principal the plan does not know is most likely a typo."""
    if folder is None:
        return {}
    if not folder.is_dir():
        raise ConfigError(f"users folder {folder} does not exist")
    known = {p.name for p in plan.principals}
    out: dict[str, bytes] = {}
    for path in sorted(folder.glob("*.password")):
        name = path.name.removesuffix(".password")
        if name not in known:
            raise ConfigError(f"{path}: no principal {name} in the plan")
        secret = _read_secret(path)
        if len(secret) < 16:
            raise ConfigError(f"{path}: password shorter than 16 characters")
        out[name] = secret.encode()
    return out


def handle_apply(args: argparse.Namespace) -> int:
    # Imported here: the admin client loads librdkafka, which plan and render never need.
    from hub.config import load_settings
    from hub.deploy.apply import apply_plan

    topology, plan, _ = build(args)
    bootstrap = args.bootstrap or load_settings().bootstrap_servers
    if not bootstrap:
        raise ConfigError("hub deploy apply needs --bootstrap or HUB_BOOTSTRAP_SERVERS")
    report = apply_plan(
        admin_config(args, bootstrap),
        topology,
        plan,
        acls=not args.no_acls,
        prune=args.prune,
        passwords=user_passwords(args.users_dir, plan),
        timeout=args.timeout,
    )
    print("\n".join(report.lines()))
    registry_url = args.registry_url or load_settings().schema_registry_url
    if registry_url:
        from hub.catalogue.schemas import load_catalogue
        from hub.registry.preload import register_catalogue

        settings = load_settings()
        done = register_catalogue(
            registry_url, load_catalogue(settings.schemas_dir), topology.partner_topics()
        )
        print(f"schemas: {len(done)} partner topic subjects registered on {registry_url}")
    return 0

"""The scaled-out deployments (issue 17), checked without running them: ``deploy/cluster`` (Docker
Compose) and ``deploy/kubernetes``.

No container can be built or run here (see ``tests/test_deploy.py``). So these tests read the files as
compose and Kubernetes would, and hand what each musicbot process would get, its command line and its
environment (the image's ``ENV`` under the file's), to the bot's own argument parser and settings
loader: what they refuse, the process would refuse at start. The shard pods' entrypoint is run with
``sh`` for every pod ordinal, with a stand-in ``musicbot`` that parses its arguments and loads its
settings the same way. Each test is about something a user would notice: a process that does not
start, a shard that no process runs or two run, a dashboard no one can log in to, a stop cut short.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from musicbot.bot.lifecycle import GRACE_S
from musicbot.bot.proxies import discord_routes
from musicbot.cli import build_parser
from musicbot.config import SETTINGS, Config, load_config
from musicbot.web.dashboard import settings_of
from musicbot.web.oauth import OAuthClient, Pkce
from musicbot.web.web_process import check_web_config
from tests.test_deploy import args_of, healthcheck_command, image_env, interpolate, run_commands

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = ROOT / "deploy" / "cluster"
KUBE = ROOT / "deploy" / "kubernetes"
NO_TOML = ROOT / "tests" / "no-such-musicbot.toml"  # settings from the environment alone, as in a container

# Variables a musicbot container may set besides the bot's settings: the README names these for the bot
# (proxies, a private CA) or they are everyone's.
STANDARD = {"PATH", "HOME", "TZ", "TMPDIR", "SSL_CERT_FILE", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY",
            "https_proxy", "http_proxy", "no_proxy"}
SETTING_NAMES = {s.env for s in SETTINGS}
DISCORD_LOGIN_HOST = "discord.com"


def load(env: Mapping[str, str]) -> Config:
    """The settings a container with ``env`` gets: the image's ENV under it (PATH aside)."""
    container = {k: v for k, v in image_env().items() if k != "PATH"} | dict(env)
    return load_config(env=container, toml_path=NO_TOML)


def login_host(config: Config) -> str | None:
    """Where the dashboard of ``config`` sends a browser to log in."""
    settings = settings_of(config)
    assert settings is not None, "the dashboard is off"
    oauth = OAuthClient(settings.client_id, settings.client_secret, f"{settings.web_url}/auth/callback",
                        settings.api_base)
    return urlsplit(oauth.authorize_url("state", Pkce.new())).hostname


def parse_command(argv: list[str]) -> Any:
    """``argv`` as ``musicbot`` parses it; a failure names the command."""
    try:
        return build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"musicbot does not accept the command {argv}")


# ----------------------------------------------------------------------------------------- compose
def compose_file(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CLUSTER / name).read_text())
    return loaded


def merged(*names: str) -> dict[str, dict[str, Any]]:
    """The services of ``docker compose -f a -f b``: mappings (environment, depends_on) merged key by key."""
    services: dict[str, dict[str, Any]] = {}
    for name in names:
        for service, spec in compose_file(name)["services"].items():
            into = services.setdefault(service, {})
            for key, value in spec.items():
                both_maps = isinstance(value, dict) and isinstance(into.get(key), dict)
                into[key] = {**into[key], **value} if both_maps else value
    return services


def example_env() -> dict[str, str]:
    """deploy/cluster/.env.example filled in as a user would (its blanks given made-up values)."""
    made_up = {"DISCORD_TOKEN": "a-bot-token", "POSTGRES_PASSWORD": "s3cret", "DISCORD_CLIENT_ID": "123456789012345678",
               "DISCORD_CLIENT_SECRET": "a-client-secret"}
    pairs = [line.split("=", 1) for line in (CLUSTER / ".env.example").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    return {key: value or made_up[key] for key, value in pairs}


def is_musicbot(spec: Mapping[str, Any]) -> bool:
    build = spec.get("build")
    return isinstance(build, dict) and (CLUSTER / build["context"] / "Dockerfile").resolve() == ROOT / "Dockerfile"


def musicbots(services: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: spec for name, spec in services.items() if is_musicbot(spec)}


def service_env(spec: Mapping[str, Any]) -> dict[str, str]:
    return {k: interpolate(str(v), example_env()) for k, v in spec.get("environment", {}).items()}


def roles(services: Mapping[str, dict[str, Any]]) -> tuple[dict[str, Config], dict[str, Config]]:
    """(shard processes, web processes) of the musicbot services, with their settings."""
    shards: dict[str, Config] = {}
    webs: dict[str, Config] = {}
    for name, spec in musicbots(services).items():
        args = parse_command(spec["command"])
        (shards if args.command == "run" else webs)[name] = load(service_env(spec))
    return shards, webs


def duration_s(text: str) -> float:
    """A compose duration: ``20s``, ``1m30s``, ``500ms``."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", text)
    assert parts and "".join(n + u for n, u in parts) == text, f"not a duration: {text!r}"
    return sum(float(n) * units[u] for n, u in parts)


def test_compose_processes_run_real_musicbot_commands_of_the_one_image() -> None:
    services = compose_file("compose.yaml")["services"]
    bots = musicbots(services)
    commands = {name: parse_command(spec["command"]) for name, spec in bots.items()}

    shards = [name for name, args in commands.items() if args.command == "run"]
    webs = [name for name, args in commands.items() if args.command == "web"]
    assert len(shards) >= 2 and len(webs) == 1, commands  # one web process: it holds the logins
    assert all(commands[name].role == "bot" for name in shards)  # the dashboard is the web process's
    assert all("entrypoint" not in spec for spec in bots.values())  # the image's tini and musicbot run these
    # the image the single-bot compose file builds, under the same name: one build for both
    single = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())["services"]["bot"]
    assert {spec["image"] for spec in bots.values()} == {single["image"]}
    # a second copy of a shard process would find its shards taken and exit; of the web process, not know logins
    assert all(spec.get("deploy", {}).get("replicas", 1) == 1 and "scale" not in spec for spec in bots.values())


def test_compose_shard_processes_run_every_shard_exactly_once() -> None:
    shards, webs = roles(compose_file("compose.yaml")["services"])
    counts = {config.shard_count for config in [*shards.values(), *webs.values()]}
    assert len(counts) == 1 and None not in counts, counts  # every process agrees on SHARD_COUNT
    (count,) = counts
    assert count is not None
    run = Counter(shard for config in shards.values() for shard in config.shard_ids or ())
    assert sorted(run) == list(range(count)) and set(run.values()) == {1}, run  # shard 0 registers the commands


def test_compose_processes_share_one_postgres_and_one_redis() -> None:
    services = compose_file("compose.yaml")["services"]
    shards, webs = roles(services)

    (database,) = {config.database_url for config in shards.values()}  # the leases, the saved state
    url = urlsplit(database)
    postgres = services[str(url.hostname)]
    pg = service_env(postgres)
    assert url.scheme == "postgresql+asyncpg" and postgres["image"].startswith("postgres:")
    assert (url.username, url.password, url.path, url.port) == (pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"],
                                                                f"/{pg['POSTGRES_DB']}", 5432)
    (redis_url,) = {config.redis_url for config in [*shards.values(), *webs.values()]}
    assert redis_url is not None
    redis = urlsplit(redis_url)
    assert services[str(redis.hostname)]["image"].startswith("redis:") and redis.port in (None, 6379)
    assert len({config.redis_prefix for config in [*shards.values(), *webs.values()]}) == 1


def test_compose_settings_are_the_bots_own_and_it_starts_with_them() -> None:
    services = compose_file("compose.yaml")["services"]
    for name, spec in musicbots(services).items():
        unknown = set(spec.get("environment", {})) - SETTING_NAMES - STANDARD
        assert not unknown, f"{name}: {unknown} would be ignored (or refused) by the bot"
    shards, webs = roles(services)
    for config in shards.values():
        assert config.require_token() and config.redis_url  # `run --role bot` needs both
        assert config.database_url.startswith("postgresql+asyncpg://")  # not a SQLite file per container
    for config in webs.values():
        check_web_config(config)  # what `musicbot web` checks at start


def test_compose_env_example_names_every_setting_compose_requires() -> None:
    required = {m.group(1) for name in ("compose.yaml", "compose.nirn.yaml")
                for m in re.finditer(r"\$\{(\w+):\?", (CLUSTER / name).read_text())}
    assert set(example_env()) == required


def test_filled_in_secrets_are_kept_out_of_git() -> None:
    assert ".env" in (CLUSTER / ".gitignore").read_text().split()  # from .env.example
    assert "secret.yaml" in (KUBE / ".gitignore").read_text().split()  # from secret.example.yaml


def test_compose_web_dashboard_logs_in_at_discord_and_the_panel_links_to_it() -> None:
    shards, webs = roles(compose_file("compose.yaml")["services"])
    (web,) = webs.values()
    assert login_host(web) == DISCORD_LOGIN_HOST
    for config in shards.values():  # the now-playing panel's 🌐 Dashboard link
        assert config.dashboard_on and config.web_url == web.web_url


def test_compose_publishes_the_http_ports_on_localhost_only() -> None:
    services = compose_file("compose.yaml")["services"]
    host_ports: list[str] = []
    for name, spec in musicbots(services).items():
        config = load(service_env(spec))
        assert config.http_host == "0.0.0.0", name  # 127.0.0.1 in a container is unreachable from outside it
        for mapping in spec.get("ports", []):
            host_ip, host_port, container_port = str(mapping).split(":")
            assert host_ip == "127.0.0.1", f"{name} publishes {mapping} beyond this machine"
            assert int(container_port.split("/")[0]) == config.http_port, f"{name}: {mapping}"
            host_ports.append(host_port)
    assert len(host_ports) == len(set(host_ports))
    _, webs = roles(services)
    assert all(services[name].get("ports") for name in webs)  # the dashboard, for a reverse proxy


def test_compose_processes_wait_for_their_databases_and_stop_cleanly() -> None:
    services = compose_file("compose.yaml")["services"]
    shards, webs = roles(services)
    needs = {**dict.fromkeys(shards, ("postgres", "redis")), **dict.fromkeys(webs, ("redis",))}
    for name, wanted in needs.items():
        spec = services[name]
        for dependency in wanted:
            assert spec["depends_on"][dependency] == {"condition": "service_healthy"}, name
            assert services[dependency]["healthcheck"]["test"], dependency
        assert duration_s(spec["stop_grace_period"]) > GRACE_S  # compose's SIGKILL after the bot's own bound
        assert spec.get("stop_signal", "SIGTERM") == "SIGTERM"
        assert spec["healthcheck"]["test"] == ["CMD", *healthcheck_command()]  # the image's own check
        assert spec["restart"] in ("unless-stopped", "always", "on-failure")
    assert all(services[name]["ulimits"]["rtprio"] == 10 for name in shards)  # the voice send thread
    for volume in ("postgres", "redis"):  # their data outlives `docker compose down`
        (mount,) = services[volume]["volumes"]
        assert mount.split(":")[0] in compose_file("compose.yaml")["volumes"]


def test_nirn_proxy_carries_the_shards_rest_calls_and_not_the_browsers_login() -> None:
    services = merged("compose.yaml", "compose.nirn.yaml")
    shards, webs = roles(services)
    for name, config in shards.items():
        routes = discord_routes(config, environ={})
        api = urlsplit(routes.api_base)
        proxy = services[str(api.hostname)]
        assert proxy["image"].startswith("ghcr.io/germanoeich/nirn-proxy:"), name
        assert api.port == int(proxy.get("environment", {}).get("PORT", 8080))  # where nirn-proxy listens
        assert api.scheme == "http" and api.path == "/api/v10"  # nirn-proxy has no TLS; the version stays
        assert str(api.hostname) in services[name]["depends_on"]
    for config in webs.values():
        assert login_host(config) == DISCORD_LOGIN_HOST  # a browser cannot reach nirn-proxy:8080


# -------------------------------------------------------------------------------------- kubernetes
def kube_objects() -> dict[tuple[str, str], dict[str, Any]]:
    """Every object of deploy/kubernetes, by (kind, name)."""
    objects: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted([*KUBE.glob("*.yaml"), *KUBE.glob("optional/*.yaml")]):
        for doc in yaml.safe_load_all(path.read_text()):
            key = (doc["kind"], doc["metadata"]["name"])
            assert key not in objects, f"{path.name}: {key} defined twice"
            objects[key] = doc
    return objects


def workload(kind: str, name: str) -> dict[str, Any]:
    return kube_objects()[(kind, name)]


def shard_set() -> dict[str, Any]:
    (sts,) = [doc for (kind, _), doc in kube_objects().items() if kind == "StatefulSet"]
    return sts


def web_deployment() -> dict[str, Any]:
    return workload("Deployment", "musicbot-web")


def container(work: Mapping[str, Any]) -> dict[str, Any]:
    (only,) = work["spec"]["template"]["spec"]["containers"]
    return dict(only)


def pod_env(spec: Mapping[str, Any]) -> dict[str, str]:
    """The environment Kubernetes gives ``spec`` (a container): envFrom, then env, from these manifests."""
    objects = kube_objects()

    def source(kind: str, name: str) -> dict[str, str]:
        assert (kind, name) in objects, f"{spec['name']} reads {kind} {name}, which no manifest here defines"
        doc = objects[(kind, name)]
        return {k: str(v) for k, v in (doc.get("data") or doc.get("stringData") or {}).items()}

    env: dict[str, str] = {}
    for ref in spec.get("envFrom", []):
        kind, name = ("ConfigMap", ref["configMapRef"]["name"]) if "configMapRef" in ref else \
            ("Secret", ref["secretRef"]["name"])
        env |= source(kind, name)
    for var in spec.get("env", []):
        if "value" in var:
            env[var["name"]] = str(var["value"])
            continue
        ref = var["valueFrom"].get("secretKeyRef") or var["valueFrom"]["configMapKeyRef"]
        kind = "Secret" if "secretKeyRef" in var["valueFrom"] else "ConfigMap"
        values = source(kind, ref["name"])
        assert ref["key"] in values, f"{var['name']}: {kind} {ref['name']} has no {ref['key']}"
        env[var["name"]] = values[ref["key"]]
    return env


def entrypoint_script(spec: Mapping[str, Any]) -> str:
    entrypoint = json.loads(args_of("ENTRYPOINT")[0])
    assert spec["command"] == [*entrypoint[:2], "/bin/sh", "-c"]  # the image's tini, then the shell
    (script,) = spec["args"]
    return str(script)


FAKE_MUSICBOT = """#!{python}
# Stands in for the image's musicbot: parses its arguments and loads its settings as musicbot would.
import json, os, sys
from musicbot.cli import build_parser
from musicbot.config import load_config
from musicbot.errors import ConfigError
args = build_parser().parse_args(sys.argv[1:])
try:
    config = load_config()
except ConfigError as err:
    sys.exit(f"musicbot: error: {{err}}")
print(json.dumps({{"pid": os.getpid(), "command": args.command, "role": getattr(args, "role", None),
                  "shard_count": config.shard_count, "shard_ids": config.shard_ids}}))
"""


@pytest.fixture
def fake_musicbot(tmp_path: Path) -> Iterator[Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "musicbot"
    program.write_text(FAKE_MUSICBOT.format(python=sys.executable))
    program.chmod(0o755)
    yield bin_dir


def kubernetes_expand(text: str, env: Mapping[str, str]) -> str:
    """What Kubernetes makes of ``$(NAME)`` in a container's command and args before the shell sees them:
    the variable's value when the container has it, else left as written; ``$$`` is one ``$``."""
    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return re.sub(r"\$\$|\$\(([^)]*)\)", one, text)


def start_pod(bin_dir: Path, hostname: str, **changes: str) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run the shard pods' entrypoint as pod ``hostname`` would (the manifests' env, ``changes`` over it);
    the result and the shell's pid."""
    spec = container(shard_set())
    manifest_env = pod_env(spec) | changes
    env = {k: v for k, v in image_env().items() if k != "PATH"} | manifest_env
    env |= {"HOSTNAME": hostname, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    script = kubernetes_expand(entrypoint_script(spec), manifest_env)
    with subprocess.Popen(["/bin/sh", "-c", script], env=env, cwd=bin_dir, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as shell:
        out, err = shell.communicate(timeout=60)
    return subprocess.CompletedProcess(shell.args, shell.returncode, out, err), shell.pid


def shard_pods(bin_dir: Path, replicas: int, **changes: str) -> list[dict[str, Any]]:
    name = shard_set()["metadata"]["name"]
    started = []
    for ordinal in range(replicas):
        done, shell_pid = start_pod(bin_dir, f"{name}-{ordinal}", **changes)
        assert done.returncode == 0, done.stderr
        seen: dict[str, Any] = json.loads(done.stdout)
        assert seen["pid"] == shell_pid  # the shell became musicbot (exec): SIGTERM from tini reaches the bot
        assert (seen["command"], seen["role"]) == ("run", "bot")
        started.append(seen)
    return started


def assert_every_shard_once(pods: list[dict[str, Any]]) -> None:
    (count,) = {pod["shard_count"] for pod in pods}
    run = Counter(shard for pod in pods for shard in pod["shard_ids"] or ())
    assert sorted(run) == list(range(count)) and set(run.values()) == {1}, pods


def test_kubernetes_shard_pods_run_every_shard_exactly_once(fake_musicbot: Path) -> None:
    pods = shard_pods(fake_musicbot, shard_set()["spec"]["replicas"])
    assert_every_shard_once(pods)
    assert [pod["shard_ids"] for pod in pods] == [[i] for i in range(len(pods))]  # pod N runs shard N


def test_kubernetes_more_shards_per_pod_as_the_guide_says(fake_musicbot: Path) -> None:
    guide = (KUBE / "README.md").read_text()
    example = re.search(r"For (\d+) shards in (\d+) pods: `SHARD_COUNT: \"(\d+)\"`.*?`replicas: (\d+)` and "
                        r"`SHARDS_PER_POD` `\"(\d+)\"` \(pod 1 runs\s+shards ([\d,]+)\)", guide, re.S)
    assert example, "the guide's example of several shards per pod"
    shards, pods, count, replicas, per_pod, pod_1 = example.groups()
    assert shards == count and pods == replicas

    started = shard_pods(fake_musicbot, int(replicas), SHARD_COUNT=count, SHARDS_PER_POD=per_pod)
    assert_every_shard_once(started)
    assert started[1]["shard_ids"] == [int(s) for s in pod_1.split(",")]


def test_kubernetes_a_pod_beyond_the_shard_count_stops_with_a_reason(fake_musicbot: Path) -> None:
    name = shard_set()["metadata"]["name"]
    beyond, _ = start_pod(fake_musicbot, f"{name}-{shard_set()['spec']['replicas']}")  # replicas raised alone
    assert beyond.returncode != 0 and "SHARD_IDS must be below SHARD_COUNT" in beyond.stderr

    nameless, _ = start_pod(fake_musicbot, "musicbot")  # not a StatefulSet pod: no ordinal to read
    assert nameless.returncode != 0 and "HOSTNAME=musicbot" in nameless.stderr and not nameless.stdout


def test_kubernetes_entrypoint_finds_the_images_musicbot() -> None:
    *_, program = json.loads(args_of("ENTRYPOINT")[0])
    script = entrypoint_script(container(shard_set()))
    (last,) = [line for line in script.splitlines() if line.strip().startswith("exec ")]
    assert shlex.split(last)[1] == PurePosixPath(program).name
    # the image's PATH finds it there first
    assert image_env()["PATH"].split(":")[0] == str(PurePosixPath(program).parent)


def test_kubernetes_settings_are_the_bots_own_and_it_starts_with_them() -> None:
    sts, web = shard_set(), web_deployment()
    script = entrypoint_script(container(sts))
    for work in (sts, web):
        spec = container(work)
        read_by_entrypoint = {n for n in pod_env(spec) if work is sts and re.search(rf"\${{?{n}\b", script)}
        unknown = set(pod_env(spec)) - SETTING_NAMES - STANDARD - read_by_entrypoint
        assert not unknown, f"{work['metadata']['name']}: {unknown} would be ignored (or refused) by the bot"

    shard = load(pod_env(container(sts)) | {"SHARD_IDS": "0"})
    assert shard.require_token() and shard.redis_url and shard.database_url.startswith("postgresql+asyncpg://")
    web_config = load(pod_env(container(web)))
    check_web_config(web_config)
    assert parse_command(container(web)["args"]).command == "web"
    assert login_host(web_config) == DISCORD_LOGIN_HOST
    assert shard.dashboard_on and shard.web_url == web_config.web_url  # the panel's dashboard link
    assert (shard.redis_url, shard.redis_prefix, shard.shard_count) == \
        (web_config.redis_url, web_config.redis_prefix, web_config.shard_count)


def test_kubernetes_runs_one_web_pod_and_one_image_as_the_images_user() -> None:
    sts, web = shard_set(), web_deployment()
    assert web["spec"]["replicas"] == 1  # logins are held in the web process's memory
    assert container(sts)["image"] == container(web)["image"]
    (useradd,) = [argv for argv in run_commands() if argv[0] == "useradd"]
    uid = int(useradd[useradd.index("--uid") + 1])
    for work in (sts, web):
        security = work["spec"]["template"]["spec"]["securityContext"]
        # runAsNonRoot with the image's USER given by name fails to start unless the uid is given
        assert security.get("runAsNonRoot") is not True or security.get("runAsUser") == uid


def named_port(spec: Mapping[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in spec.get("ports", []) if p.get("name") == port]
    return int(number)


def selects(selector: Mapping[str, str], work: Mapping[str, Any]) -> bool:
    labels = work["spec"]["template"]["metadata"]["labels"]
    return all(labels.get(k) == v for k, v in selector.items())


def test_kubernetes_probes_and_services_reach_the_bots_http_port() -> None:
    objects = kube_objects()
    sts, web = shard_set(), web_deployment()
    headless = objects[("Service", sts["spec"]["serviceName"])]
    web_service = objects[("Service", "musicbot-web")]
    assert headless["spec"]["clusterIP"] == "None"  # a StatefulSet's pods get their names from it
    assert selects(headless["spec"]["selector"], sts) and not selects(headless["spec"]["selector"], web)
    assert selects(web_service["spec"]["selector"], web) and not selects(web_service["spec"]["selector"], sts)
    assert web_service["spec"].get("type", "ClusterIP") == "ClusterIP"

    for work, service in ((sts, headless), (web, web_service)):
        spec = container(work)
        port = load(pod_env(spec) | ({"SHARD_IDS": "0"} if work is sts else {})).http_port
        liveness, readiness = spec["livenessProbe"]["httpGet"], spec["readinessProbe"]["httpGet"]
        assert (liveness["path"], named_port(spec, liveness["port"])) == ("/health", port)
        assert (readiness["path"], named_port(spec, readiness["port"])) == ("/ready", port)
        assert {named_port(spec, p["targetPort"]) for p in service["spec"]["ports"]} == {port}
        annotations = work["spec"]["template"]["metadata"].get("annotations", {})
        assert int(annotations.get("prometheus.io/port", port)) == port  # where Prometheus finds /metrics


def test_kubernetes_pods_get_longer_to_stop_than_the_bot_takes() -> None:
    for work in (shard_set(), web_deployment()):
        grace = work["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
        assert grace > GRACE_S, work["metadata"]["name"]


def guide_set_env(variable: str) -> tuple[str, str]:
    """The guide's ``kubectl set env statefulset/NAME VARIABLE=URL``: (NAME, URL)."""
    found = re.findall(rf"kubectl set env statefulset/(\S+) {variable}=(\S+)", (KUBE / "README.md").read_text())
    (pair,) = set(found)
    for path in KUBE.glob("optional/*.yaml"):  # the manifests' own comments say the same
        for name, url in re.findall(rf"kubectl set env statefulset/(\S+) {variable}=(\S+)", path.read_text()):
            assert (name, url) == pair, path.name
    return pair


def served_by(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Deployment and container behind ``url``'s host and port (a Service of these manifests)."""
    objects = kube_objects()
    parts = urlsplit(url)
    service = objects[("Service", str(parts.hostname))]
    (port,) = [p for p in service["spec"]["ports"] if p["port"] == parts.port]
    (work,) = [doc for (kind, _), doc in objects.items() if kind == "Deployment"
               and selects(service["spec"]["selector"], doc)]
    spec = container(work)
    return work, spec | {"_target": named_port(spec, port["targetPort"])}  # the port the Service reaches


def test_kubernetes_nirn_proxy_as_the_guide_sets_it_up() -> None:
    statefulset, url = guide_set_env("DISCORD_API_BASE")
    assert statefulset == shard_set()["metadata"]["name"]
    _, spec = served_by(url)
    listens = int({e["name"]: e.get("value") for e in spec.get("env", [])}.get("PORT") or 8080)
    assert spec["_target"] == listens  # the Service reaches the port nirn-proxy listens on
    shard = load(pod_env(container(shard_set())) | {"SHARD_IDS": "0", "DISCORD_API_BASE": url})
    api = urlsplit(discord_routes(shard, environ={}).api_base)
    assert api.scheme == "http" and api.path == "/api/v10"
    assert "DISCORD_API_BASE" not in pod_env(container(web_deployment()))  # the login page stays Discord's


def test_kubernetes_gateway_proxy_as_the_guide_sets_it_up() -> None:
    from musicbot.bot.client import MusicBotClient  # discord.py: only this test needs it

    statefulset, url = guide_set_env("DISCORD_GATEWAY_URL")
    assert statefulset == shard_set()["metadata"]["name"]
    work, spec = served_by(url)
    objects = kube_objects()
    (mount,) = spec["volumeMounts"]
    (volume,) = [v for v in work["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"]]
    config_map = objects[("ConfigMap", volume["configMap"]["name"])]
    proxy = json.loads(config_map["data"][mount["subPath"]])
    assert mount["mountPath"] == "/config.json"  # where gateway-proxy reads it
    assert spec["_target"] == proxy["port"]

    shard = load(pod_env(container(shard_set())) | {"SHARD_IDS": "0", "DISCORD_GATEWAY_URL": url})
    assert discord_routes(shard, environ={}).gateway_url is not None
    assert proxy["shards"] == shard.shard_count  # the proxy's shards are the bot's
    assert proxy["intents"] == MusicBotClient(shard).intents.value  # the events the bot asks for
    assert all(proxy["cache"][kind] for kind in ("voice_states", "channels", "roles"))
    (token,) = [e for e in spec["env"] if e["name"] == "TOKEN"]  # not written into the ConfigMap
    assert token["valueFrom"]["secretKeyRef"]["key"] == "DISCORD_TOKEN" and "token" not in proxy
    assert pod_env(spec)["TOKEN"] == pod_env(container(shard_set()))["DISCORD_TOKEN"]
    assert work["spec"]["replicas"] == 1 and work["spec"]["strategy"]["type"] == "Recreate"


def test_the_readmes_scaling_out_links_to_these_files() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Scaling out", 1)[1].split("\n## ", 1)[0]
    links = re.findall(r"\]\(([^)#]+)\)", section)
    assert {"deploy/cluster/compose.yaml", "deploy/kubernetes/README.md"} <= set(links)
    assert all((ROOT / link).exists() for link in links), links
    assert "](#scaling-out)" in readme.split("\n## Deploying", 1)[1].split("\n## ", 1)[0]

"""Loading and validating the gateway configuration.

LiteLLM's realtime config is accepted unchanged::

    model_list:
      - model_name: gpt-realtime
        litellm_params:
          model: openai/gpt-realtime
          api_key: os.environ/OPENAI_API_KEY
          api_base: https://api.openai.com/v1
        model_info: {mode: realtime}
    litellm_settings: {logged_real_time_event_types: "*"}
    general_settings: {master_key: os.environ/RT_MASTER_KEY}
    router_settings: {routing_strategy: least-busy}

The neutral spelling is also accepted: ``models`` for ``model_list``,
``params`` for ``litellm_params``, ``settings`` for ``litellm_settings``.
``os.environ/NAME`` references are resolved at load; a missing variable is an
error naming the variable and the config path.  Each provider validates its
own ``litellm_params`` with its own settings model, so an error names the
provider's field and the path (``model_list[2].litellm_params.api_base``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .deployment import KNOWN_EXTRA_PARAMS, Deployment, ProviderSpec
from .errors import ConfigError

__all__ = ["Config", "GatewaySettings", "RouterSettings", "ROUTING_STRATEGIES", "load_config", "default_config", "resolve_env"]

log = logging.getLogger(__name__)

ENV_PREFIX = "os.environ/"


class GatewaySettings(BaseModel):
    """rt's own knobs (``general_settings`` and ``litellm_settings`` keys rt reads)."""

    model_config = ConfigDict(extra="ignore")

    master_key: str | None = None
    #: Seconds to open an upstream before giving up (per attempt).
    connect_timeout: float = Field(default=10.0, gt=0)
    #: Largest client event accepted; larger ones get an ``error`` event.
    max_event_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    #: Seconds an open session may take to close on shutdown.
    shutdown_grace: float = Field(default=3.0, ge=0)
    logged_real_time_event_types: list[str] | str = Field(
        default_factory=lambda: ["session.created", "response.create", "response.done"]
    )
    #: JSON-lines sink: ``stdout`` (or ``-``, or ``true``) or a file path; off when unset.
    rt_log_jsonl: str | None = None
    #: SQLite store: a file path, or ``true`` for the default path
    #: (``$RT_DB``, else ``$XDG_STATE_HOME/rt/rt.db``); off when unset or ``false``.
    rt_log_sqlite: str | None = None
    #: Records each built-in sink may hold before it drops (and counts) new ones.
    rt_log_queue_size: int = Field(default=10_000, ge=1)
    #: A plugin whose ``on_log_event`` call takes longer than this (seconds) is
    #: moved to a background thread with a bounded queue, so it cannot slow sessions.
    rt_log_slow_sink_s: float = Field(default=0.05, gt=0)
    #: Run the event loop thread in ``SCHED_FIFO`` at this priority (1-99) so
    #: other busy processes on the host never preempt it (:mod:`rt_core.priority`);
    #: off when unset.  Linux; needs root, ``CAP_SYS_NICE`` or ``ulimit -r``.
    rt_realtime_priority: int | None = Field(default=None, ge=1, le=99)

    @field_validator("rt_log_jsonl", mode="before")
    @classmethod
    def _jsonl_target(cls, v: Any) -> Any:
        if v is True:
            return "stdout"
        if v is False or v == "":
            return None
        return v

    @field_validator("rt_log_sqlite", mode="before")
    @classmethod
    def _sqlite_target(cls, v: Any) -> Any:
        if v is True or (isinstance(v, str) and v.strip().lower() in ("true", "default", "on", "yes")):
            return "default"
        if v is False or v == "" or (isinstance(v, str) and v.strip().lower() in ("false", "off", "no")):
            return None
        return v


#: The routing strategies rt implements (``router_settings.routing_strategy``).
ROUTING_STRATEGIES = ("simple-shuffle", "least-busy", "latency-based-routing")
#: LiteLLM strategies that make no sense for sessions; rt uses simple-shuffle for them.
_FOREIGN_STRATEGIES = ("usage-based-routing", "usage-based-routing-v2", "cost-based-routing")


class RouterSettings(BaseModel):
    """``router_settings`` (LiteLLM's keys); see ``docs/routing.md``.

    Failover is on by default: a group's deployments are each tried once
    (``num_retries`` caps the extra attempts per group), then the groups in
    ``fallbacks``; a deployment failing ``allowed_fails`` times within
    ``allowed_fails_window`` seconds is skipped for ``cooldown_time`` seconds.
    """

    model_config = ConfigDict(extra="allow")

    routing_strategy: str = "simple-shuffle"
    #: Extra attempts within a model group after the first (None: every deployment once).
    num_retries: int | None = Field(default=None, ge=0)
    #: ``[{"gpt-realtime": ["gemini-live", ...]}]``: groups tried when a group is exhausted.
    fallbacks: list[dict[str, list[str]]] = Field(default_factory=list)
    #: Groups tried for every model group without its own ``fallbacks`` entry.
    default_fallbacks: list[str] = Field(default_factory=list)
    allowed_fails: int = Field(default=3, ge=1)
    cooldown_time: float = Field(default=30.0, ge=0)
    allowed_fails_window: float = Field(default=60.0, gt=0)
    disable_cooldowns: bool = False
    #: Session cap for deployments without their own ``max_parallel_requests``.
    default_max_parallel_requests: int | None = Field(default=None, ge=1)
    #: Strategy options; ``lowest_latency_buffer`` (latency-based-routing): pick at
    #: random among deployments within this fraction of the fastest.
    routing_strategy_args: dict[str, Any] = Field(default_factory=dict)

    @field_validator("routing_strategy")
    @classmethod
    def _strategy(cls, v: str) -> str:
        v = v.strip()
        if v in ROUTING_STRATEGIES:
            return v
        if v in _FOREIGN_STRATEGIES:
            log.warning("router_settings.routing_strategy %r is not used for realtime sessions; "
                        "using simple-shuffle", v)
            return "simple-shuffle"
        raise ValueError(f"unknown routing strategy {v!r}; use one of: {', '.join(ROUTING_STRATEGIES)}")

    @field_validator("fallbacks", mode="before")
    @classmethod
    def _fallbacks(cls, v: Any) -> Any:
        # LiteLLM also accepts a single mapping and single group names.
        if isinstance(v, dict):
            v = [{k: val} for k, val in v.items()]
        if isinstance(v, list):
            return [{k: ([val] if isinstance(val, str) else val) for k, val in item.items()}
                    if isinstance(item, dict) else item for item in v]
        return v

    @field_validator("default_fallbacks", mode="before")
    @classmethod
    def _default_fallbacks(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    def fallbacks_for(self, group: str) -> list[str]:
        """The groups to try, in order, once ``group`` is exhausted."""
        for item in self.fallbacks:
            if group in item:
                return list(item[group])
        return [g for g in self.default_fallbacks if g != group]


@dataclass
class Config:
    """A validated configuration."""

    deployments: list[Deployment]
    gateway: GatewaySettings = field(default_factory=GatewaySettings)
    router: RouterSettings = field(default_factory=RouterSettings)
    litellm_settings: dict[str, Any] = field(default_factory=dict)
    general_settings: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    source: str = "<memory>"

    @property
    def groups(self) -> dict[str, list[Deployment]]:
        out: dict[str, list[Deployment]] = {}
        for d in self.deployments:
            out.setdefault(d.model_name, []).append(d)
        return out

    @property
    def model_names(self) -> list[str]:
        return list(self.groups)


def resolve_env(value: Any, env: Mapping[str, str], path: str) -> Any:
    """Replace every ``os.environ/NAME`` string, recursively."""
    if isinstance(value, str):
        if value.startswith(ENV_PREFIX):
            name = value[len(ENV_PREFIX) :].strip()
            if not name:
                raise ConfigError("empty environment variable name in 'os.environ/'", path)
            if name not in env:
                raise ConfigError(f"environment variable {name} is not set (referenced as {value!r})", path)
            return env[name]
        return value
    if isinstance(value, dict):
        return {k: resolve_env(v, env, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_env(v, env, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def _pick(d: Mapping[str, Any], *names: str, path: str) -> Any:
    present = [n for n in names if n in d]
    if len(present) > 1:
        raise ConfigError(f"use either {present[0]!r} or {present[1]!r}, not both", path)
    return d[present[0]] if present else None


def _split_model(model: str, providers: Mapping[str, ProviderSpec]) -> tuple[str | None, str]:
    if "/" in model:
        prefix, rest = model.split("/", 1)
        if prefix in providers:
            return providers[prefix].name, rest
        return None, model
    # LiteLLM treats an unprefixed model as OpenAI.
    return ("openai" if "openai" in providers else None), model


def _pydantic_errors(exc: ValidationError, path: str) -> ConfigError:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return ConfigError(f"{first['msg']}{more}", f"{path}.{loc}" if loc else path)


def load_config(
    source: str | Path | Mapping[str, Any] | None,
    providers: Mapping[str, ProviderSpec],
    env: Mapping[str, str] | None = None,
) -> Config:
    """Load, resolve and validate a config.

    :param source: a YAML file path, a YAML string (when it contains a
        newline), an already-parsed mapping, or None for the embedded default.
    :param providers: provider prefix (and alias) → spec, from the plugins.
    :param env: the environment for ``os.environ/`` references.
    :raises ConfigError: with the config path of the first problem.
    """
    env = os.environ if env is None else env
    label = "<default>"
    if source is None:
        raw: Any = default_config(providers, env)
    elif isinstance(source, Mapping):
        raw, label = dict(source), "<memory>"
    elif isinstance(source, Path) or "\n" not in str(source):
        p = Path(source)
        label = str(p)
        try:
            raw = yaml.safe_load(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {p}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"invalid YAML in {p}: {exc}") from None
    else:
        try:
            raw = yaml.safe_load(str(source))
        except yaml.YAMLError as exc:
            raise ConfigError(f"invalid YAML: {exc}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("the config must be a mapping at the top level")

    cfg = _build(raw, providers, env)
    cfg.source = label
    return cfg


_TOP_KEYS = {
    "model_list", "models", "litellm_settings", "settings", "general_settings", "router_settings",
    "environment_variables", "callback_settings", "credential_list",
}


def _build(raw: dict[str, Any], providers: Mapping[str, ProviderSpec], env: Mapping[str, str]) -> Config:
    warnings: list[str] = []
    for k in raw:
        if k not in _TOP_KEYS:
            warnings.append(f"{k}: unknown top-level key (ignored)")

    # LiteLLM lets a config set environment variables for os.environ/ lookups.
    extra_env = raw.get("environment_variables") or {}
    if extra_env and not isinstance(extra_env, dict):
        raise ConfigError("must be a mapping", "environment_variables")
    if extra_env:
        env = {**env, **{str(k): str(v) for k, v in extra_env.items()}}

    entries = _pick(raw, "model_list", "models", path="model_list")
    list_key = "models" if "models" in raw else "model_list"
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise ConfigError("must be a list of model entries", list_key)

    settings_raw = _pick(raw, "litellm_settings", "settings", path="litellm_settings") or {}
    general_raw = raw.get("general_settings") or {}
    router_raw = raw.get("router_settings") or {}
    for key, val in (("litellm_settings", settings_raw), ("general_settings", general_raw), ("router_settings", router_raw)):
        if not isinstance(val, dict):
            raise ConfigError("must be a mapping", key)
    settings_raw = resolve_env(settings_raw, env, "litellm_settings")
    general_raw = resolve_env(general_raw, env, "general_settings")
    router_raw = resolve_env(router_raw, env, "router_settings")

    try:
        gateway = GatewaySettings.model_validate({**settings_raw, **general_raw})
    except ValidationError as exc:
        raise _pydantic_errors(exc, "general_settings") from None
    try:
        router = RouterSettings.model_validate(router_raw)
    except ValidationError as exc:
        raise _pydantic_errors(exc, "router_settings") from None

    deployments: list[Deployment] = []
    for i, entry in enumerate(entries):
        path = f"{list_key}[{i}]"
        d = _deployment(entry, i, path, providers, env, warnings)
        if d is not None:
            deployments.append(d)

    ids = [d.id for d in deployments]
    dup = {x for x in ids if ids.count(x) > 1}
    if dup:
        raise ConfigError(f"duplicate deployment id(s): {sorted(dup)}", "model_info.id")

    for w in warnings:
        log.warning("config: %s", w)
    return Config(
        deployments=deployments,
        gateway=gateway,
        router=router,
        litellm_settings=settings_raw,
        general_settings=general_raw,
        warnings=warnings,
    )


def _deployment(
    entry: Any,
    index: int,
    path: str,
    providers: Mapping[str, ProviderSpec],
    env: Mapping[str, str],
    warnings: list[str],
) -> Deployment | None:
    if not isinstance(entry, dict):
        raise ConfigError("each model entry must be a mapping", path)
    name = entry.get("model_name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("model_name is required and must be a non-empty string", f"{path}.model_name")
    params_key = "params" if "params" in entry else "litellm_params"
    params = _pick(entry, "litellm_params", "params", path=path)
    if not isinstance(params, dict):
        raise ConfigError("litellm_params (or params) is required and must be a mapping", f"{path}.litellm_params")
    info = entry.get("model_info") or {}
    if not isinstance(info, dict):
        raise ConfigError("must be a mapping", f"{path}.model_info")
    mode = info.get("mode")
    ppath = f"{path}.{params_key}"

    model = params.get("model")
    if not isinstance(model, str) or not model.strip():
        raise ConfigError("model is required (e.g. 'openai/gpt-realtime')", f"{ppath}.model")
    provider, model_id = _split_model(model, providers)
    if mode is not None and mode != "realtime":
        warnings.append(f"{path}: model_info.mode is {mode!r}, not 'realtime': entry skipped")
        return None
    if provider is None:
        known = ", ".join(sorted({p.name for p in providers.values()})) or "none installed"
        msg = f"unknown provider in {model!r}; installed providers: {known}"
        if mode == "realtime":
            raise ConfigError(msg, f"{ppath}.model")
        warnings.append(f"{ppath}.model: {msg}: entry skipped")
        return None

    spec = providers[provider]
    resolved = resolve_env(params, env, ppath)
    try:
        settings = spec.settings.model_validate(resolved)
    except ValidationError as exc:
        raise _pydantic_errors(exc, ppath) from None
    extras = set((settings.model_extra or {}).keys()) - KNOWN_EXTRA_PARAMS
    for k in sorted(extras):
        warnings.append(f"{ppath}.{k}: not a {spec.name} parameter rt knows (kept, unused)")
    dep_id = str(info.get("id") or f"{name}[{index}]")
    return Deployment(
        id=dep_id,
        model_name=name,
        provider=spec.name,
        model=model_id,
        settings=settings,
        index=index,
        model_info=info,
    )


def default_config(providers: Mapping[str, ProviderSpec], env: Mapping[str, str]) -> dict[str, Any]:
    """The embedded default: ``mock`` plus a model per provider whose key is set."""
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    for spec in providers.values():
        if spec.name in seen:
            continue
        seen.add(spec.name)
        if spec.env_defaults is not None:
            entries.extend(spec.env_defaults(env))
    if "mock" in providers and not any(e.get("model_name") == "mock" for e in entries):
        entries.append({"model_name": "mock", "litellm_params": {"model": "mock/mock"}, "model_info": {"mode": "realtime"}})
    # ``mock`` first, so it is the model a bare ``rt-core serve`` is known for.
    entries.sort(key=lambda e: e.get("model_name") != "mock")
    return {"model_list": entries}

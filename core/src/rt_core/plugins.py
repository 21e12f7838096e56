"""The plugin host: one typed facade over pluggy's ``PluginManager``.

Plugins are discovered through the ``rt.plugins`` entry-point group (the
entry-point name is the plugin name), so ``pip install rt-gemini`` is all it
takes to add a provider.  The host is created once and injected where it is
needed; there is no module-global manager.

Environment switches, in the pytest style:

* ``RT_DISABLE_PLUGIN_AUTOLOAD=1`` -- load no entry points (tests register
  exactly the plugins they mean to).
* ``RT_BLOCK_PLUGINS=a,b`` -- never load the named plugins.
* ``RT_TRACE_HOOKS=1`` -- log every hook call at DEBUG level.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import pluggy

from . import hookspecs
from .deployment import ProviderSpec
from .errors import PluginError

__all__ = ["PluginHost", "PluginInfo", "ENTRY_POINT_GROUP"]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "rt.plugins"


@dataclass(frozen=True)
class PluginInfo:
    """One registered plugin, for ``rt-core plugins``."""

    name: str
    distribution: str | None
    version: str | None
    providers: tuple[str, ...]


class PluginHost:
    """Owns the PluginManager, loads plugins and exposes typed calls."""

    def __init__(
        self,
        *,
        autoload: bool | None = None,
        blocked: Iterable[str] | None = None,
        plugins: Mapping[str, object] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if env is None else env
        if autoload is None:
            autoload = env.get("RT_DISABLE_PLUGIN_AUTOLOAD", "") not in ("1", "true", "yes")
        if blocked is None:
            blocked = [b.strip() for b in env.get("RT_BLOCK_PLUGINS", "").split(",") if b.strip()]
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        for name in blocked:
            self.pm.set_blocked(name)
        self._dists: dict[str, tuple[str, str]] = {}
        self._providers: dict[str, tuple[ProviderSpec, object]] | None = None
        self._callers: dict[str, tuple[Any, Any]] = {}
        from . import dispatch

        self.register(dispatch, dispatch.NAME)
        for name, plugin in (plugins or {}).items():
            self.register(plugin, name)
        if autoload:
            self._load_entry_points()
        self.pm.check_pending()
        self._tracing = bool(env.get("RT_TRACE_HOOKS"))
        if self._tracing:
            self.pm.trace.root.setwriter(lambda msg: log.debug("hook: %s", msg.rstrip()))
            self.pm.enable_tracing()

    # ------------------------------------------------------------------ loading

    def register(self, plugin: object, name: str) -> None:
        if self.pm.is_blocked(name):
            return
        try:
            self.pm.register(plugin, name)
        except Exception as exc:
            raise PluginError(f"plugin {name!r} could not be registered: {exc}") from exc
        self._providers = None
        self._callers.clear()

    def _load_entry_points(self) -> None:
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if self.pm.is_blocked(ep.name) or self.pm.get_plugin(ep.name) is not None:
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                dist = ep.dist.name if ep.dist else "?"
                raise PluginError(
                    f"plugin {ep.name!r} (distribution {dist}) failed to load from {ep.value!r}: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            self.register(plugin, ep.name)
            if ep.dist is not None:
                self._dists[ep.name] = (ep.dist.name, ep.dist.version)

    # ------------------------------------------------------------------ queries

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def providers(self) -> dict[str, ProviderSpec]:
        """Provider prefix (and every alias) → spec."""
        return {k: v[0] for k, v in self._provider_map().items()}

    def provider_plugin(self, provider: str) -> object:
        return self._provider_map()[provider][1]

    def _provider_map(self) -> dict[str, tuple[ProviderSpec, object]]:
        if self._providers is None:
            out: dict[str, tuple[ProviderSpec, object]] = {}
            for impl in self.pm.hook.rt_providers.get_hookimpls():
                try:
                    specs = cast("list[ProviderSpec]", impl.function() or [])
                except Exception as exc:
                    raise PluginError(f"plugin {impl.plugin_name!r} failed in rt_providers: {exc}") from exc
                for spec in specs:
                    for key in (spec.name, *spec.aliases):
                        if key in out and out[key][1] is not impl.plugin:
                            other = self.pm.get_name(out[key][1])
                            raise PluginError(
                                f"provider {key!r} is declared by both {other!r} and {impl.plugin_name!r}"
                            )
                        out[key] = (spec, impl.plugin)
            self._providers = out
        return self._providers

    def plugin_infos(self) -> list[PluginInfo]:
        by_plugin: dict[str, list[str]] = {}
        for key, (spec, plugin) in self._provider_map().items():
            if key == spec.name:
                by_plugin.setdefault(self.pm.get_name(plugin) or "?", []).append(spec.name)
        infos = []
        for name, _plugin in sorted(self.pm.list_name_plugin()):
            dist, version = self._dists.get(name, (None, None))
            infos.append(PluginInfo(name, dist, version, tuple(sorted(by_plugin.get(name, [])))))
        return infos

    def session_callers(self, provider: str) -> tuple[Any, Any]:
        """``translate_inbound``/``translate_outbound`` callers for one provider.

        Only the provider's own plugin and plugins that serve no provider are
        consulted (``subset_hook_caller``), so a session's events never visit
        the other providers' hookimpls.  Cached per provider.
        """
        callers = self._callers.get(provider)
        if callers is None:
            mine = self.provider_plugin(provider)
            others = {p for _, p in self._provider_map().values() if p is not mine}
            inbound = self.pm.subset_hook_caller("translate_inbound", remove_plugins=others)
            outbound = self.pm.subset_hook_caller("translate_outbound", remove_plugins=others)
            if not self._tracing and _only_dispatch(inbound) and _only_dispatch(outbound):
                # Nobody but the built-in dispatch would answer: call it directly
                # (same result, without pluggy's ~2 us per call on the hot path).
                from . import dispatch

                callers = (dispatch.translate_inbound, dispatch.translate_outbound)
            else:
                callers = (inbound, outbound)
            self._callers[provider] = callers
        return callers


def _only_dispatch(caller: Any) -> bool:
    from . import dispatch

    impls = caller.get_hookimpls()
    return len(impls) == 1 and impls[0].plugin is dispatch

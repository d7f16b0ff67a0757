"""Settings under their old names, read until the next release: :func:`renamed_settings` moves them to the new
ones before :class:`songspace.config.RunConfig` checks a config, which warns once per old name it finds.

Imports nothing of songspace (the config schema imports it).
"""

from __future__ import annotations

from typing import Any

# Settings that moved into the own settings of the representations that read them ([representations.params.<name>]):
# (section, old key) -> (representation, setting) for each. The old keys are read, with a warning, until the next
# release. They name representations because they are old names, fixed: nothing new joins this table.
MOVED = {("model", "beta_vae"): (("beta_vae", "beta"), ("beta_conv_vae", "beta")),
         ("model", "capacity_max"): (("beta_vae", "capacity_max"), ("beta_conv_vae", "capacity_max")),
         ("model", "capacity_epochs"): (("beta_vae", "capacity_epochs"), ("beta_conv_vae", "capacity_epochs")),
         ("representations", "hybrid_audio"): (("hybrid", "audio"),),
         ("representations", "condition_on"): (("cvae", "condition_on"),),
         ("representations", "poe_labels"): (("poe_vae", "labels"),),
         ("representations", "beta_sweep"): (("beta_vae", "sweep"),)}


def renamed_settings(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Config values with the old names moved to the new ones, and one note per old name found: ``[methods]`` (with
    ``representations = [...]``) is ``[representations]`` (with ``names = [...]``), and the keys of :data:`MOVED`
    are settings of the representations that read them, unless their own table sets the same one."""
    notes = []
    data = dict(data)
    if "methods" in data:
        old = dict(data.pop("methods") or {})
        if "representations" in old:
            old["names"] = old.pop("representations")
        new = data.get("representations")
        if isinstance(new, dict) and set(new) & set(old):
            raise ValueError(f"both [methods] (the old name) and [representations] set {sorted(set(new) & set(old))}; "
                             "keep [representations] only")
        data["representations"] = {**old, **(new if isinstance(new, dict) else {})}
        notes.append("[methods] is now [representations] and its 'representations' list is 'names'; the old names "
                     "are read until the next release")
    for (section, key), targets in MOVED.items():
        reps = data.get("representations") or {}
        params = reps.get("params") or {} if isinstance(reps, dict) else None
        if not isinstance(data.get(section), dict) or key not in data[section] or not isinstance(params, dict) \
                or not all(isinstance(own, dict) for own in params.values()):
            continue  # nothing to move, or nowhere to move it: the schema names what is wrong
        data[section] = dict(data[section])
        value = data[section].pop(key)
        params = {name: dict(own) for name, own in params.items()}
        for name, setting in targets:
            params.setdefault(name, {}).setdefault(setting, value)
        data["representations"] = {**(data.get("representations") or {}), "params": params}
        moved_to = " and ".join(f"representations.params.{name}.{setting}" for name, setting in targets)
        notes.append(f"{section}.{key} is now {moved_to}; the old key is read until the next release")
    return data, notes

"""Registered models by name."""

from __future__ import annotations

import importlib
import importlib.util

from neurobone.errors import ModelError
from neurobone.model.definition import Model

#: model name -> module holding ``MODEL``
_MODULES = {
    "lemaire2004": "neurobone.model.lemaire2004",
    "pivonka2008": "neurobone.model.pivonka2008",
    "neurobone": "neurobone.model.brainbone",
}

DEFAULT_MODEL = "neurobone"


def available() -> list[str]:
    """Names of the models that can be loaded."""
    out = []
    for name, mod in _MODULES.items():
        if importlib.util.find_spec(mod) is not None:
            out.append(name)
    return out


def get_model(name: str) -> Model:
    """The model registered as ``name`` (a :class:`ModelError` lists the valid names)."""
    if name not in _MODULES or name not in available():
        raise ModelError(f"unknown model {name!r}; valid: {', '.join(available())}")
    return importlib.import_module(_MODULES[name]).MODEL


def as_model(model: "Model | str", species: str | None = None) -> Model:
    """A :class:`Model` from a registered name, a model, or an object holding one (a
    compiled model), with the ``species`` preset applied when given."""
    inner = getattr(model, "model", None)
    if isinstance(inner, Model):
        model = inner
    if isinstance(model, str):
        model = get_model(model)
    if not isinstance(model, Model):
        raise ModelError(f"not a model: {type(model).__name__}; give a name "
                         f"({', '.join(available())}) or a Model")
    if species is not None and species != model.default_species:
        model = model.for_species(species)
    return model

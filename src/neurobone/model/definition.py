"""The one form every neurobone model is written in.

A model is plain data: states, parameters, algebraic expressions and ODE right-hand
sides, the formulas written as text a scientist can review (``"D_R*pi_C - D_B/pi_C*R"``).
:mod:`neurobone.model.symbolic` parses that text once with SymPy; every backend (the
engine's kernels, :mod:`neurobone.model.codegen`; SBML export) is generated from the parsed
form, so no equation is ever typed twice.

Models are built from :class:`Component` objects (one biological module each) that are
merged by :func:`compose`. A component may *redefine* an expression of an earlier
component (``overrides``); this is how the brain-bone model plugs its couplings into the
published Pivonka core, whose neutral couplings are the constant 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

from neurobone.errors import ModelError
from neurobone.model.subjects import SubjectRules

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Parameter:
    """A model constant.

    Attributes
    ----------
    name : symbol used in the formulas (literature symbol where one exists).
    value : default value, in ``unit``.
    unit : physical unit (``"pM/day"``, ``"1/day"``, ``"1"`` for dimensionless).
    description : one line saying what it is.
    source : publication the value comes from, or ``"calibrated: <target ids>"``.
    species : ``"mouse"``, ``"human"`` or ``"any"`` (species-independent, e.g. in-vitro
        binding constants).
    cv : between-subject coefficient of variation (log-normal) used by virtual
        populations; 0 means the same for every subject.
    reference_of : if set, the parameter is a homeostatic reference: at initialisation it
        is set to the steady-state value of this state or expression (see
        :func:`neurobone.engine.steady.initialise`).
    """

    name: str
    value: float
    unit: str
    description: str
    source: str
    species: str = "any"
    cv: float = 0.0
    reference_of: str | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ModelError(f"invalid parameter name {self.name!r}")


@dataclass(frozen=True)
class State:
    """A dynamic variable with its ODE.

    ``scale`` is its typical magnitude; the solvers use it for absolute tolerances.
    ``steady`` is False for accumulators (bone volume, age) that the steady-state solver
    leaves at their initial value.
    """

    name: str
    initial: float
    unit: str
    description: str
    rate: str
    scale: float = 1.0
    steady: bool = True

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ModelError(f"invalid state name {self.name!r}")


@dataclass(frozen=True)
class Expression:
    """A named algebraic helper, a function of states, parameters and other expressions."""

    name: str
    formula: str
    unit: str
    description: str

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ModelError(f"invalid expression name {self.name!r}")


@dataclass(frozen=True)
class Component:
    """One biological module: its own states, parameters and expressions.

    ``overrides`` redefines expressions and ``state_overrides`` states (rate, initial
    value, flags) that an earlier component declared; ``wraps`` rewrites an earlier
    expression around its current formula, written ``{prev}`` (``"({prev})*g_dmab"``:
    a drug's factor on a flux whatever the earlier components made of it, without
    typing that formula again). They are the only ways one component changes another.
    """

    name: str
    description: str = ""
    parameters: tuple[Parameter, ...] = ()
    states: tuple[State, ...] = ()
    expressions: tuple[Expression, ...] = ()
    overrides: tuple[Expression, ...] = ()
    state_overrides: tuple[State, ...] = ()
    wraps: tuple[Expression, ...] = ()

    def instance(self, suffix: str, description: str = "") -> "Component":
        """The component's states and expressions once more, each name ending in
        ``suffix`` (``OBa`` -> ``OBa_ap``) and every formula rewritten to use the new
        names; parameters are left out (shared by every instance: compose them once, from
        :meth:`parameters_only`). How one biological module serves several sites."""
        local = [s.name for s in self.states] + [e.name for e in self.expressions]
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, local)) + r")\b") if local else None

        def rename(text: str) -> str:
            return pattern.sub(lambda m: m.group(1) + suffix, text) if pattern else text

        return Component(
            name=f"{self.name}{suffix}",
            description=description or f"{self.description} ({suffix.strip('_')})",
            states=tuple(replace(s, name=s.name + suffix, rate=rename(s.rate))
                         for s in self.states),
            expressions=tuple(replace(e, name=e.name + suffix, formula=rename(e.formula))
                              for e in self.expressions),
        )

    def parameters_only(self) -> "Component":
        """The component's parameters alone (see :meth:`instance`)."""
        return Component(name=f"{self.name}_parameters", description=self.description,
                         parameters=self.parameters)


@dataclass(frozen=True)
class Model:
    """A complete model: the merge of its components plus metadata.

    ``outputs`` maps stable output names to the state or expression they report.
    ``presets`` maps a species to parameter replacements (each a full
    :class:`Parameter`, so it carries its own unit, species and source). ``rules`` set
    up its subjects from their covariates (:mod:`neurobone.model.subjects`).
    """

    name: str
    description: str
    citation: str
    parameters: tuple[Parameter, ...]
    states: tuple[State, ...]
    expressions: tuple[Expression, ...]
    outputs: Mapping[str, str] = field(default_factory=dict)
    presets: Mapping[str, tuple[Parameter, ...]] = field(default_factory=dict)
    default_species: str = "any"
    components: tuple[str, ...] = ()
    rules: SubjectRules = field(default_factory=SubjectRules, compare=False, repr=False)
    default_outputs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    primary_output: Mapping[str, str] = field(default_factory=dict)
    signed_outputs: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ look-ups
    @property
    def parameter_names(self) -> list[str]:
        return [p.name for p in self.parameters]

    @property
    def state_names(self) -> list[str]:
        return [s.name for s in self.states]

    @property
    def expression_names(self) -> list[str]:
        return [e.name for e in self.expressions]

    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise ModelError(
            f"unknown parameter {name!r} for model {self.name!r}; "
            f"valid: {', '.join(sorted(self.parameter_names))}"
        )

    def outputs_for(self, species: str | None = None) -> list[str]:
        """The outputs kept when a scenario, study or cohort names none: the model's
        list for the species, else its named outputs, else its states."""
        species = species or self.default_species
        return list(self.default_outputs.get(species) or self.outputs or self.state_names)

    def primary_for(self, species: str | None = None) -> str:
        """The primary outcome of a study of this species (default: the first output)."""
        species = species or self.default_species
        return self.primary_output.get(species) or self.outputs_for(species)[0]

    @property
    def all_outputs(self) -> list[str]:
        """Every name that can be read: states, named outputs, expressions."""
        return list(dict.fromkeys(self.state_names + list(self.outputs) + self.expression_names))

    def fingerprint(self) -> str:
        """Hash of the definition: equations, parameter values and CVs, outputs (what
        makes two models give the same results; a cohort store records it)."""
        import hashlib
        import json

        d = {
            "states": [(s.name, s.rate, s.initial, s.scale, s.steady) for s in self.states],
            "parameters": [(p.name, p.value, p.cv, p.reference_of) for p in self.parameters],
            "expressions": [(e.name, e.formula) for e in self.expressions],
            "outputs": sorted(self.outputs.items()),
        }
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=repr).encode()).hexdigest()

    def defaults(self) -> dict[str, float]:
        return {p.name: p.value for p in self.parameters}

    def for_species(self, species: str) -> "Model":
        """The model with the species preset applied (a new :class:`Model`)."""
        if species in ("any", self.default_species) and species not in self.presets:
            return self
        if species not in self.presets:
            valid = sorted(set(self.presets) | {self.default_species})
            raise ModelError(
                f"model {self.name!r} has no preset for species "
                f"{species!r}; valid: {', '.join(valid)}"
            )
        repl = {p.name: p for p in self.presets[species]}
        unknown = set(repl) - set(self.parameter_names)
        if unknown:
            raise ModelError(f"preset {species!r} names unknown parameters {sorted(unknown)}")
        params = tuple(repl.get(p.name, p) for p in self.parameters)
        return replace(self, parameters=params, default_species=species)

    def __repr__(self) -> str:
        return (
            f"<Model {self.name!r}: {len(self.states)} states, {len(self.parameters)} parameters, "
            f"{len(self.expressions)} expressions; species={self.default_species}>"
        )

    def parameter_table(self):
        """Parameters as a DataFrame (name, value, unit, species, description, source)."""
        import pandas as pd

        return pd.DataFrame(
            [
                dict(
                    name=p.name,
                    value=p.value,
                    unit=p.unit,
                    species=p.species,
                    cv=p.cv,
                    description=p.description,
                    source=p.source,
                )
                for p in self.parameters
            ]
        )


def compose(
    name: str,
    components: Iterable[Component],
    *,
    description: str,
    citation: str,
    outputs: Mapping[str, str] | None = None,
    presets: Mapping[str, Iterable[Parameter]] | None = None,
    default_species: str = "any",
    rules: SubjectRules | None = None,
    default_outputs: Mapping[str, Iterable[str]] | None = None,
    primary_output: Mapping[str, str] | None = None,
    signed_outputs: Iterable[str] = (),
) -> Model:
    """Merge components into a :class:`Model`.

    Names must be unique across components; an override must name an expression that an
    earlier component declared.
    """
    params: dict[str, Parameter] = {}
    states: dict[str, State] = {}
    exprs: dict[str, Expression] = {}
    comps = list(components)
    for comp in comps:
        for item, table in (
            *((p, params) for p in comp.parameters),
            *((s, states) for s in comp.states),
            *((e, exprs) for e in comp.expressions),
        ):
            if item.name in params or item.name in states or item.name in exprs:
                raise ModelError(f"{comp.name}: name {item.name!r} is defined twice")
            table[item.name] = item
        for ov in comp.overrides:
            if ov.name not in exprs:
                raise ModelError(f"{comp.name}: override of unknown expression {ov.name!r}")
            exprs[ov.name] = ov
        for w in comp.wraps:
            if w.name not in exprs:
                raise ModelError(f"{comp.name}: wrap of unknown expression {w.name!r}")
            if "{prev}" not in w.formula:
                raise ModelError(f"{comp.name}: wrap of {w.name!r} must contain {{prev}}")
            exprs[w.name] = replace(exprs[w.name],
                                    formula=w.formula.replace("{prev}", exprs[w.name].formula))
        for so in comp.state_overrides:
            if so.name not in states:
                raise ModelError(f"{comp.name}: override of unknown state {so.name!r}")
            states[so.name] = so
    outputs = dict(outputs or {})
    known = set(states) | set(exprs)
    for out, target in outputs.items():
        if target not in known:
            raise ModelError(f"output {out!r} refers to unknown name {target!r}")
    readable = known | set(outputs)
    listed = [o for outs in (default_outputs or {}).values() for o in outs]
    listed += list((primary_output or {}).values()) + list(signed_outputs)
    for o in listed:
        if o not in readable:
            raise ModelError(f"default output {o!r} is not an output of model {name!r}")
    return Model(
        name=name,
        description=description,
        citation=citation,
        parameters=tuple(params.values()),
        states=tuple(states.values()),
        expressions=tuple(exprs.values()),
        outputs=outputs,
        presets={k: tuple(v) for k, v in (presets or {}).items()},
        default_species=default_species,
        components=tuple(c.name for c in comps),
        rules=rules or SubjectRules(),
        default_outputs={k: tuple(v) for k, v in (default_outputs or {}).items()},
        primary_output=dict(primary_output or {}),
        signed_outputs=frozenset(signed_outputs),
    )

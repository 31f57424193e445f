"""SBML Level 3 export, generated from the model's parsed symbolic form.

:func:`to_sbml` writes SBML Level 3 Version 2 from
:class:`~neurobone.model.symbolic.SymbolicModel`, the same parsed form the compiled
kernels come from, so no equation is retyped. The mapping:

* **parameters** -> SBML ``<parameter constant="true">`` with the project's names as
  ids, the value in force (defaults, species preset and ``parameters`` applied), the
  unit where it can be expressed in SBML units, and notes (description, unit, species,
  source).
* **states** -> SBML ``<parameter constant="false">`` with a ``<rateRule>``. States are
  not all chemical species (bone volume, connectivity, age), so every state is written
  the same way, as a variable with a rate rule; no compartment or substance semantics
  are implied. Ids are the state names; initial values from ``initial`` or the model.
* **expressions** (and named outputs whose name differs from their target) ->
  ``<assignmentRule>`` on non-constant parameters.
* **timed overrides** (a scenario's schedule) -> events. An overridden parameter ``q``
  becomes ``q = piecewise(v_k, on_k, ..., q_base)`` (an assignment rule; the later
  override wins, as in the engines) and its value outside the overrides is the constant
  ``q_base``. Each override ``k`` has an indicator ``nb_on_k`` (0/1) switched by two
  events at its start and end day. Weekday schedules add one daily clock event (at every
  whole day while some weekday override is in its window) that advances a weekday
  counter ``nb_weekday`` and sets each weekday override's day flag ``nb_day_k``; the
  override is in force when ``nb_on_k * nb_day_k = 1``. A weekly programme over years
  therefore costs a handful of SBML elements, not one event per session.

Time is in days (``timeUnits="day"``). The symbol ``t`` of a formula is SBML ``time``.
"""

from __future__ import annotations

import math
import re
from html import escape
from typing import Iterable, Mapping, Sequence

import numpy as np
import sympy as sp
from sympy.printing.str import StrPrinter

from neurobone.atomic import atomic_write_text
from neurobone.engine.kernels import CompiledModel
from neurobone.errors import InputError, ModelError
from neurobone.model.definition import Model
from neurobone.model.registry import as_model
from neurobone.model.symbolic import parse
from neurobone.model.timed import Override
from neurobone.units import DAYS_PER_YEAR

SBML_LEVEL = 3
SBML_VERSION = 2


# ----------------------------------------------------------------------------- math
class _L3Printer(StrPrinter):
    """SymPy -> libSBML L3 infix formula (``pow``, ``ln``, ``abs``, ``time``)."""

    def _print_Symbol(self, expr):
        return "time" if expr.name == "t" else expr.name

    def _print_Pow(self, expr, rational=False):
        b, e = expr.as_base_exp()
        if e == sp.Rational(1, 2):
            return f"sqrt({self._print(b)})"
        if e == -1:
            return f"1/({self._print(b)})"
        return f"pow({self._print(b)}, {self._print(e)})"

    def _print_exp(self, expr):
        return f"exp({self._print(expr.args[0])})"

    def _print_log(self, expr):
        if len(expr.args) != 1:
            raise ModelError("log with a base is not supported in SBML export")
        return f"ln({self._print(expr.args[0])})"

    def _print_Abs(self, expr):
        return f"abs({self._print(expr.args[0])})"

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_Rational(self, expr):
        return f"({expr.p}/{expr.q})"

    def _print_Integer(self, expr):
        return str(int(expr))

    def _print_Exp1(self, expr):
        return "exponentiale"

    def _print_Pi(self, expr):
        return "pi"


def formula(expr: sp.Expr) -> str:
    """A SymPy expression as a libSBML L3 formula string."""
    return _L3Printer().doprint(sp.sympify(expr))


def _ast(text: str, model):
    import libsbml

    node = libsbml.parseL3FormulaWithModel(text, model)
    if node is None:
        raise ModelError(f"SBML export: cannot parse {text!r}: {libsbml.getLastParseL3Error()}")
    return node


# ----------------------------------------------------------------------------- units
# base symbols -> SBML units (kind, exponent, scale, multiplier)
_BASE_UNITS = {
    "pM": [("mole", 1, -12, 1.0), ("litre", -1, 0, 1.0)],
    "nM": [("mole", 1, -9, 1.0), ("litre", -1, 0, 1.0)],
    "uM": [("mole", 1, -6, 1.0), ("litre", -1, 0, 1.0)],
    "day": [("second", 1, 0, 86400.0)],
    "hour": [("second", 1, 0, 3600.0)],
    "year": [("second", 1, 0, DAYS_PER_YEAR * 86400.0)],
    "%": [("dimensionless", 1, 0, 0.01)],
    "1": [],
    "SD": [],
    "g": [("gram", 1, 0, 1.0)],
    "ug": [("gram", 1, -6, 1.0)],
    "mg": [("gram", 1, -3, 1.0)],
    "L": [("litre", 1, 0, 1.0)],
    "cm": [("metre", 1, -2, 1.0)],
    "mm": [("metre", 1, -3, 1.0)],
}
_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z%]+|1)(?P<pow>\d*)|(?P<op>[*/()]))")


def _parse_unit(text: str):
    """Parse ``a*b/(c*d)`` style unit strings; None when a symbol is unknown."""
    tokens = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            return None
        tokens.append(m)
        pos = m.end()
    k = 0

    def factor():
        nonlocal k
        if k >= len(tokens):
            raise ValueError
        m = tokens[k]
        if m.group("op") == "(":
            k += 1
            out = expr()
            if k >= len(tokens) or tokens[k].group("op") != ")":
                raise ValueError
            k += 1
            return out
        name = m.group("name")
        if name is None or name not in _BASE_UNITS:
            raise ValueError
        k += 1
        power = int(m.group("pow") or 1)
        return [(kind, e * power, s, mu) for kind, e, s, mu in _BASE_UNITS[name]]

    def expr():
        nonlocal k
        out = factor()
        while k < len(tokens) and tokens[k].group("op") in ("*", "/"):
            op = tokens[k].group("op")
            k += 1
            f = factor()
            out = out + (f if op == "*" else [(kd, -e, s, mu) for kd, e, s, mu in f])
        return out

    try:
        units = expr()
    except ValueError:
        return None
    if k != len(tokens):
        return None
    merged: dict[tuple[str, int, float], int] = {}
    for kind, e, s, mu in units:
        merged[(kind, s, mu)] = merged.get((kind, s, mu), 0) + e
    return [(kind, e, s, mu) for (kind, s, mu), e in merged.items() if e != 0]


def _unit_id(text: str) -> str:
    t = text.replace("%", "percent").replace("/", "_per_").replace("*", "_")
    t = re.sub(r"[^A-Za-z0-9_]", "", t.replace("(", "").replace(")", ""))
    return "u_" + re.sub(r"_+", "_", t).strip("_")


# ----------------------------------------------------------------------------- export
def _notes(*lines: str) -> str:
    body = "".join(f"<p>{escape(line)}</p>" for line in lines if line)
    return f'<body xmlns="http://www.w3.org/1999/xhtml">{body}</body>'


def _number(what: str, v) -> float:
    """``v`` as a finite float, or :class:`InputError` naming ``what``."""
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise InputError(f"SBML export: {what} must be a number, got {v!r}")
    x = float(v)
    if not math.isfinite(x):
        raise InputError(f"SBML export: {what} is {x!r}; values must be finite numbers")
    return x


def _vector(what: str, v) -> np.ndarray:
    try:
        return np.asarray(v, float)
    except (TypeError, ValueError):
        raise InputError(f"SBML export: the {what} must hold numbers") from None


def _check(rc: int, what: str) -> None:
    import libsbml

    if rc != libsbml.LIBSBML_OPERATION_SUCCESS:
        why = libsbml.OperationReturnValue_toString(rc)
        raise ModelError(f"SBML export: {what} failed ({why})")


def to_sbml(
    model: Model | CompiledModel | str,
    parameters: Mapping[str, float] | np.ndarray | None = None,
    overrides: Iterable[Override] = (),
    initial: Mapping[str, float] | np.ndarray | None = None,
    *,
    species: str | None = None,
    named_outputs: bool = True,
    outputs: Sequence[str] | None = None,
) -> str:
    """SBML Level 3 Version 2 text of ``model`` with a schedule of ``overrides``.

    Parameters
    ----------
    model : a registered model name, a :class:`Model` or a compiled model.
    parameters : parameter values (mapping by name, or a full vector in
        ``model.parameter_names`` order) replacing the defaults.
    overrides : timed overrides (:class:`Override`, weekday schedules included); they
        become events (see the module docstring).
    initial : initial states (mapping or full vector); default: the model's.
    species : species preset (``mouse``, ``human``) when ``model`` is a name or Model.
    named_outputs : add assignment rules for named outputs whose name is not already an
        id (``bv_tv`` is; ``obp`` -> ``OBp`` is added).
    outputs : keep only these readable names (states, named outputs, expressions) and the
        expressions the rate rules need; default: every expression. A smaller document
        loads much faster in libRoadRunner (the fracture-risk quadrature alone is most of
        the human model's text).
    """
    import libsbml

    m = as_model(model, species)
    sym = parse(m)
    pnames = m.parameter_names
    values = {p.name: float(p.value) for p in m.parameters}
    if parameters is not None:
        if isinstance(parameters, Mapping):
            for k, v in parameters.items():
                m.parameter(k)
                values[k] = _number(f"parameter {k!r}", v)
        else:
            vec = _vector("parameter vector", parameters)
            if vec.shape != (len(pnames),):
                raise InputError(
                    f"parameter vector has shape {vec.shape}, expected ({len(pnames)},)")
            values = dict(zip(pnames, map(float, vec), strict=True))
    y0 = {s.name: float(s.initial) for s in m.states}
    if initial is not None:
        if isinstance(initial, Mapping):
            for k, v in initial.items():
                if k not in y0:
                    raise InputError(f"unknown state {k!r}; valid: {', '.join(m.state_names)}")
                y0[k] = _number(f"initial state {k!r}", v)
        else:
            vec = _vector("initial state vector", initial)
            if vec.shape != (len(m.states),):
                raise InputError(
                    f"initial state vector has shape {vec.shape}, expected ({len(m.states)},)")
            y0 = dict(zip(m.state_names, map(float, vec), strict=True))
    # an SBML file with value="NaN" or "INF" is no model: refuse it before writing
    for what, vals in (("parameter", values), ("initial state", y0)):
        for k, v in vals.items():
            if not math.isfinite(v):
                raise InputError(f"SBML export: {what} {k!r} is {v!r}; values must be finite "
                                 "numbers")
    # Newton residue (|y| < 1e-30 x scale, e.g. -7e-69 for a pool at 0) is written as 0:
    # CVODE in libRoadRunner fails on such values once the state starts to move
    for st in m.states:
        if abs(y0[st.name]) < 1e-30 * st.scale:
            y0[st.name] = 0.0
    ovs = list(overrides)
    for o in ovs:
        m.parameter(o.name)  # raises with the valid names
    ids = set(pnames) | set(m.state_names) | set(m.expression_names)
    keep_exprs, keep_aliases = _kept(m, sym, outputs)

    doc = libsbml.SBMLDocument(SBML_LEVEL, SBML_VERSION)
    sm = doc.createModel()
    sm.setId(_sid(m.name))
    sm.setName(m.description)
    _check(sm.setNotes(_notes(m.description, f"Citation: {m.citation}",
                              f"Species preset: {m.default_species}",
                              "Generated by neurobone (neurobone.io.sbml.to_sbml) from the model's "
                              "symbolic definition; states are parameters with rate rules, "
                              "algebraic expressions are assignment rules, time is in days.")),
           "model notes")

    # units
    unit_ids: dict[str, str | None] = {}

    def unit_of(text: str) -> str | None:
        if text in unit_ids:
            return unit_ids[text]
        parsed = _parse_unit(text)
        if parsed is None:
            unit_ids[text] = None
        elif not parsed:
            unit_ids[text] = "dimensionless"
        else:
            uid = _unit_id(text)
            if sm.getUnitDefinition(uid) is None:
                ud = sm.createUnitDefinition()
                ud.setId(uid)
                ud.setName(text)
                for kind, e, s, mu in parsed:
                    u = ud.createUnit()
                    u.setKind(libsbml.UnitKind_forName(kind))
                    u.setExponent(float(e))
                    u.setScale(int(s))
                    u.setMultiplier(float(mu))
            unit_ids[text] = uid
        return unit_ids[text]

    day = unit_of("day")
    sm.setTimeUnits(day)

    overridden = list(dict.fromkeys(o.name for o in ovs))
    def declare(pid: str, name: str, value: float | None, constant: bool, unit: str,
                notes: list[str]) -> None:
        p = sm.createParameter()
        p.setId(pid)
        p.setName(name)
        if value is not None:
            p.setValue(value)
        p.setConstant(constant)
        u = unit_of(unit)
        if u:
            p.setUnits(u)
        _check(p.setNotes(_notes(*notes)), f"notes of {pid}")

    # parameters
    for prm in m.parameters:
        base_id = f"{prm.name}_base" if prm.name in overridden else prm.name
        if base_id in ids and base_id != prm.name:
            raise ModelError(f"SBML export: id {base_id!r} is already used by the model")
        declare(base_id, prm.description, values[prm.name], True, prm.unit,
                [prm.description, f"unit: {prm.unit}", f"species: {prm.species}",
                 f"source: {prm.source}",
                 f"homeostatic reference of {prm.reference_of}" if prm.reference_of else ""])
    # states (variables with rate rules)
    for st in m.states:
        declare(st.name, st.description, y0[st.name], False, st.unit,
                [f"state: {st.description}", f"unit: {st.unit}", f"d{st.name}/dt = {st.rate}"])
    # expressions (variables with assignment rules)
    exprs = {e.name: e for e in m.expressions}
    for name, _ in sym.expressions:
        if name not in keep_exprs:
            continue
        e = exprs[name]
        declare(name, e.description, None, False, e.unit,
                [f"expression: {e.description}", f"unit: {e.unit}", f"{name} = {e.formula}"])
    for st, rate in zip(m.states, sym.rates, strict=True):
        r = sm.createRateRule()
        r.setVariable(st.name)
        _check(r.setMath(_ast(formula(rate), sm)), f"rate rule of {st.name}")
    for name, expr in sym.expressions:
        if name not in keep_exprs:
            continue
        r = sm.createAssignmentRule()
        r.setVariable(name)
        _check(r.setMath(_ast(formula(expr), sm)), f"assignment rule of {name}")
    if named_outputs:
        for alias, target in m.outputs.items():
            if alias in ids or alias == target or alias not in keep_aliases:
                continue
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", alias):
                continue
            p = sm.createParameter()
            p.setId(alias)
            p.setConstant(False)
            p.setName(f"named output: {target}")
            tu = unit_of(next((x.unit for x in (*m.states, *m.expressions, *m.parameters)
                               if x.name == target), ""))
            if tu:
                p.setUnits(tu)
            r = sm.createAssignmentRule()
            r.setVariable(alias)
            _check(r.setMath(_ast(target, sm)), f"output {alias}")
            ids.add(alias)

    if ovs:
        _schedule_events(sm, ovs, ids, day)

    errors = _errors(doc)
    if errors:
        raise ModelError("SBML export produced an invalid document: " + "; ".join(errors[:5]))
    return libsbml.writeSBMLToString(doc)


def _kept(m: Model, sym, outputs: Sequence[str] | None) -> tuple[set[str], set[str]]:
    """The expressions and named outputs an export keeps: all of them, or (``outputs``
    given) those the rate rules and the named outputs depend on."""
    if outputs is None:
        return {n for n, _ in sym.expressions}, set(m.outputs)
    readable = m.all_outputs
    unknown = [o for o in outputs if o not in readable]
    if unknown:
        raise InputError(f"SBML export: unknown output {unknown[0]!r}; valid: "
                         f"{', '.join(readable)}")
    exprs = dict(sym.expressions)
    need = {str(s) for rate in sym.rates for s in rate.free_symbols}
    need |= {m.outputs.get(o, o) for o in outputs}
    for name, _ in reversed(sym.expressions):  # dependants come after what they use
        if name in need:
            need |= {str(s) for s in exprs[name].free_symbols}
    return {n for n in exprs if n in need}, {o for o in outputs if o in m.outputs}


def _schedule_events(sm, ovs: Sequence[Override], ids: set[str], day: str) -> None:
    """Overrides as indicator variables, window events and one daily clock (module doc)."""
    def new_param(pid: str, value: float, constant: bool, name: str, units: str = "dimensionless"):
        if pid in ids:
            raise ModelError(f"SBML export: id {pid!r} is already used by the model")
        ids.add(pid)
        p = sm.createParameter()
        p.setId(pid)
        p.setValue(value)
        p.setConstant(constant)
        p.setUnits(units)
        p.setName(name)
        return p

    def event(eid: str, trigger: str, assignments: list[tuple[str, str]], name: str):
        ev = sm.createEvent()
        ev.setId(eid)
        ev.setName(name)
        ev.setUseValuesFromTriggerTime(True)
        tr = ev.createTrigger()
        tr.setInitialValue(True)  # nothing fires at day 0: indicators start correct
        tr.setPersistent(True)
        _check(tr.setMath(_ast(trigger, sm)), f"trigger of {eid}")
        for var, text in assignments:
            a = ev.createEventAssignment()
            a.setVariable(var)
            _check(a.setMath(_ast(text, sm)), f"assignment of {var} in {eid}")

    weekly = [k for k, o in enumerate(ovs) if o.weekdays is not None and len(set(o.weekdays)) < 7]
    for k, o in enumerate(ovs):
        on0 = 1.0 if o.start <= 0.0 < o.end else 0.0
        new_param(f"nb_on_{k}", on0, False,
                  f"override {k}: {o.name} = {o.value:g} on days [{o.start:g}, {o.end:g})")
        if o.start > 0:
            event(f"nb_start_{k}", f"time >= {o.start!r} {day}", [(f"nb_on_{k}", "1")],
                  f"override {k} starts")
        if math.isfinite(o.end):
            event(f"nb_end_{k}", f"time >= {o.end!r} {day}", [(f"nb_on_{k}", "0")],
                  f"override {k} ends")
    if weekly:
        # the clock ticks at every whole day from `first` (the day after the earliest
        # weekday override starts) to the last end; before its first tick a weekday
        # override can only be on during day first-1, so the flags start with that day
        first = min(math.floor(ovs[k].start) + 1 for k in weekly)
        last = max(ovs[k].end for k in weekly)
        wd0 = (first - 1) % 7
        for k in weekly:
            new_param(f"nb_day_{k}", 1.0 if wd0 in ovs[k].weekdays else 0.0, False,
                      f"override {k}: 1 on weekdays {sorted(set(ovs[k].weekdays))}")
        new_param("nb_next_day", float(first), False, "next whole day of the weekday clock", day)
        new_param("nb_weekday", float(wd0), False,
                  "weekday of the current day (day 0 is weekday 0)")
        assigns = [("nb_next_day", f"nb_next_day + 1 {day}"),
                   ("nb_weekday", "piecewise(0, nb_weekday >= 6, nb_weekday + 1)")]
        for k in weekly:
            # the new day's weekday is (nb_weekday + 1) % 7: test the old value
            prev = sorted({(d - 1) % 7 for d in ovs[k].weekdays})
            cond = " || ".join(f"(nb_weekday == {d})" for d in prev)
            assigns.append((f"nb_day_{k}", f"piecewise(1, {cond}, 0)"))
        until = f" && (nb_next_day <= {last!r} {day})" if math.isfinite(last) else ""
        event("nb_clock", f"(time >= nb_next_day){until}", assigns,
              "daily clock of weekday schedules")
    for name in dict.fromkeys(o.name for o in ovs):
        pieces = []
        for k in reversed(range(len(ovs))):
            o = ovs[k]
            if o.name != name:
                continue
            cond = f"nb_on_{k} * nb_day_{k} > 0.5" if k in weekly else f"nb_on_{k} > 0.5"
            pieces.append(f"{o.value!r}, {cond}")
        p = sm.createParameter()
        p.setId(name)
        p.setConstant(False)
        p.setName(f"{name} with its scheduled overrides (value outside them: {name}_base)")
        r = sm.createAssignmentRule()
        r.setVariable(name)
        _check(r.setMath(_ast(f"piecewise({', '.join(pieces)}, {name}_base)", sm)),
               f"schedule of {name}")


def _errors(doc) -> list[str]:
    import libsbml

    doc.checkConsistency()
    out = []
    for i in range(doc.getNumErrors()):
        e = doc.getError(i)
        if e.getSeverity() >= libsbml.LIBSBML_SEV_ERROR:
            out.append(f"{e.getCategoryAsString()} {e.getErrorId()}: {e.getMessage().strip()}")
    return out


def check_sbml(text: str) -> list[str]:
    """libSBML's consistency check of ``text``: the messages of severity error or worse."""
    import libsbml

    doc = libsbml.readSBMLFromString(text)
    return _errors(doc)


def _sid(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return s if re.match(r"^[A-Za-z_]", s) else f"m_{s}"


def split_overrides(overrides: Iterable[Override]) -> tuple[dict[str, float], list[Override]]:
    """Overrides in force for the whole run (start 0, no end, every day) become constant
    parameter values; the others stay timed (events).

    A whole-run override hides every earlier override of the same parameter (the later
    one wins), so those are dropped; later timed ones still apply over it.
    """
    constant: dict[str, float] = {}
    timed: list[Override] = []
    for o in overrides:
        every_day = o.weekdays is None or len(set(o.weekdays)) == 7
        if o.start <= 0.0 and math.isinf(o.end) and every_day:
            constant[o.name] = float(o.value)
            timed = [x for x in timed if x.name != o.name]
        else:
            timed.append(o)
    return constant, timed


def write_sbml(
    path,
    model: Model | CompiledModel | str,
    parameters: Mapping[str, float] | None = None,
    overrides: Iterable[Override] = (),
    initial: Mapping[str, float] | np.ndarray | None = None,
    *,
    species: str | None = None,
    outputs: Sequence[str] | None = None,
) -> str:
    """Write :func:`to_sbml` to ``path``; whole-run overrides become parameter values.

    Returns the SBML text. This is what ``neurobone export-sbml`` calls; a scenario's
    schedule enters as ``overrides``.
    """
    from pathlib import Path

    constant, timed = split_overrides(overrides)
    params = {**(parameters or {}), **constant}
    text = to_sbml(model, parameters=params, overrides=timed, initial=initial, species=species,
                   outputs=outputs)
    atomic_write_text(Path(path), text)
    return text

"""Osteocyte mechanostat at each skeletal region, with an adapting set point, producing
sclerostin.

At each region the daily mechanical stimulus is habitual loading (1, less under
unloading) plus the exercise load at that region relative to the habitual daily load
index ``L_hab``. Osteocytes integrate it over about a day (sclerostin falls within 24 h of
loading, Robling 2008). The set point drifts part of the way toward the habitual
stimulus over weeks (cellular accommodation, Schriefer 2005; Turner 1998 rule 3). The
strain a load produces falls as the region's bone rises (Frost's mechanostat: the
feedback that ends adaptation). Sclerostin falls when the strain error is positive and
rises in disuse. Estrogen deficiency blunts the osteocytes' response to strain (bone
adaptation to loading requires estrogen receptor alpha, Lee 2003) and raises the set
point (Frost 1987: nonmechanical agents such as estrogen move the mechanostat's set
point, so bone settles at a lower mass after estrogen loss instead of being restored by
the strain feedback; the stimulus is scaled by ``E2**k_ES``). Age raises the set point
too (the osteogenic response to loading falls with age, Holguin 2014): the stimulus is
scaled by ``exp(-a_S (age - age_S0))`` past the onset ``age_S0`` (smoothed), so
age-related loss is not undone by the strain feedback and the same exercise builds less
bone in old age.

``unloading`` is the subject's habitual loading removed at both regions (low activity);
``unload_ax`` and ``unload_ap`` the share removed by an intervention at each region
(hindlimb unloading removes the hindlimbs' load, bed rest most of both).
"""

from neurobone.model.components.exercise import REGIONS
from neurobone.model.components.refs import (
    ASSUMED,
    FROST1987,
    GLATT2007,
    HOLGUIN2014,
    LEE2003,
    ROBLING2008,
    SCHRIEFER2005,
    TURNER1998,
)
from neurobone.model.definition import Component, Expression, Parameter, State
from neurobone.units import DAYS_PER_YEAR

INPUT = "input: set by interventions"


def _region(r: str):
    states = (
        State(f"M_{r}", 1.0, "1",
              f"osteocyte mechanical signal at the {r} region relative to habitual",
              rate=f"(mech_stimulus_{r} - M_{r})/tau_M", scale=1.0),
        State(f"S_set_{r}", 1.0, "1",
              f"mechanostat set point at the {r} region (adapts toward the habitual stimulus)",
              rate=f"(1 + f_acc*(M_{r} - 1) - S_set_{r})/tau_acc", scale=1.0),
    )
    expressions = (
        Expression(f"habitual_{r}", f"(1 - unloading)*(1 - unload_{r})", "1",
                   f"habitual loading left at the {r} region"),
        Expression(f"mech_stimulus_{r}", f"habitual_{r} + load_signal_{r}/L_hab", "1",
                   f"daily mechanical stimulus at the {r} region relative to habitual"),
        Expression(f"afferent_stimulus_{r}", f"habitual_{r} + afferent_load_{r}/L_hab", "1",
                   f"daily mechanical stimulus at the {r} region "
                   "as the skeletal afferents sense it"),
        Expression(f"strain_error_{r}",
                   "1 + mechanosensitivity"
                   f"*(M_{r}*setpoint_E2*setpoint_age/S_set_{r}*bone_{r}**(-n_BV) - 1)", "1",
                   f"strain signal at the {r} region relative to the set point (1 at homeostasis)"),
        Expression(f"sclerostin_{r}", f"exp(-g_scl*(strain_error_{r} - 1))", "1",
                   f"sclerostin at the {r} region relative to homeostasis"),
    )
    params = (Parameter(f"unload_{r}", 0.0, "1",
                        f"share of habitual loading removed at the {r} region by an intervention",
                        INPUT),)
    return params, states, expressions


_PARTS = [_region(r) for r in REGIONS]

COMPONENT = Component(
    name="mechanics",
    description="mechanostat per region: osteocyte signal, adapting set point, sclerostin",
    parameters=(
        Parameter("unloading", 0.0, "1",
                  "share of habitual loading the subject lacks at every region (low activity)",
                  "subject: 1 - habitual activity"),
        Parameter("tau_M", 1.0, "day", "time constant of the osteocyte mechanical signal",
                  f"{ROBLING2008}: sclerostin falls within 24 h of loading"),
        Parameter("tau_acc", 28.0, "day", "time constant of set-point accommodation",
                  f"{SCHRIEFER2005}: accommodation over weeks", species="mouse"),
        Parameter("f_acc", 0.5, "1",
                  "fraction of a sustained stimulus change the set point accommodates",
                  f"{SCHRIEFER2005}; {TURNER1998} rule 3"),
        Parameter("n_BV", 1.0, "1",
                  "exponent of strain on the region's bone (strain ~ load / bone^n)",
                  f"{FROST1987}; {ASSUMED} (n = 1: strain inversely proportional to bone)"),
        Parameter("g_scl", 1.3, "1", "sensitivity of log sclerostin to the strain error",
                  "calibrated (pipeline, mouse and human rows)", cv=0.2),
        Parameter("k_ER", 0.7, "1",
                  "exponent of osteocyte mechanosensitivity on estrogen action (ER-alpha)",
                  "calibrated (pipeline): MC7 "
                  f"({LEE2003}: adaptation to loading requires ER-alpha)"),
        Parameter("k_ES", 0.5, "1",
                  "exponent of the mechanostat's sensed stimulus on estrogen (set point shift)",
                  f"{FROST1987}; calibrated: MC6, E04, E12"),
        Parameter("a_S", 0.0, "1/day",
                  "rise in the log mechanostat set point per day of age above the reference",
                  f"calibrated (pipeline): E01 ({HOLGUIN2014}: the response to loading falls with "
                  "age in female C57BL/6); E02, E03 validate it", species="mouse"),
        Parameter("age_S0", 140.0, "day", "age at which the mechanostat set point starts to rise",
                  f"{ASSUMED}: skeletal maturity of C57BL/6 (about 20 weeks, when cortical growth "
                  f"ends; {GLATT2007}); trabecular BV/TV is steady from 12 to 20 weeks "
                  "(MC1)", species="mouse"),
        Parameter("w_S0", 14.0, "day", "smoothing width of the onset of set-point ageing",
                  f"{ASSUMED}: two weeks (numerical smoothing of the onset)", species="mouse"),
        Parameter("L_hab", 6.0, "1", "habitual daily osteogenic load index (same units as ex_load)",
                  "calibrated (mouse rows)", species="mouse"),
        *(p for ps, _, _ in _PARTS for p in ps),
    ),
    states=tuple(s for _, ss, _ in _PARTS for s in ss),
    expressions=(
        Expression("mechanosensitivity", "E2**k_ER", "1",
                   "osteocyte mechanosensitivity (estrogen receptor alpha gates the response)"),
        Expression("setpoint_E2", "E2**k_ES", "1",
                   "estrogen's scaling of the sensed stimulus "
                   "(below 1: the set point is effectively raised)"),
        Expression("age_past_S0", "w_S0*log(1 + exp((age - age_S0)/w_S0))", "day",
                   "age past the onset of set-point ageing (smoothed over w_S0)"),
        Expression("setpoint_age", "exp(-a_S*age_past_S0)", "1",
                   "age's scaling of the sensed stimulus "
                   "(the set point rises with age past age_S0)"),
        *(e for _, _, es in _PARTS for e in es),
    ),
)

HUMAN = (
    Parameter("age_S0", 30 * DAYS_PER_YEAR, "day",
              "age at which the mechanostat set point starts to rise",
              f"{ASSUMED}: peak bone mass, the reference age", species="human"),
    Parameter("w_S0", 365.0, "day", "smoothing width of the onset of set-point ageing",
              f"{ASSUMED}: a year (numerical smoothing of the onset)", species="human"),
    Parameter("a_S", 0.0, "1/day",
              "rise in the log mechanostat set point per day of age above the reference",
              "calibrated (pipeline): HC2, E16 (hip loss of older women); "
              "E14, E15, E40 validate it", species="human"),
    Parameter("L_hab", 5.6, "1", "habitual daily osteogenic load index (same units as ex_load)",
              "calibrated (human rows)", species="human"),
    Parameter("tau_acc", 120.0, "day", "time constant of set-point accommodation",
              f"{SCHRIEFER2005} (rat, weeks) scaled to the slower human "
              f"remodelling cycle; {ASSUMED}", species="human"),
)

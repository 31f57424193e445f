"""Osteocyte mechanostat with an adapting set point, producing sclerostin.

The daily mechanical stimulus is habitual loading (1, less under unloading) plus the
exercise load relative to the habitual daily load index ``L_hab``. Osteocytes integrate it over about a day (sclerostin falls within 24 h
of loading, Robling 2008). The set point drifts part of the way toward the habitual
stimulus over weeks (cellular accommodation, Schriefer 2005; Turner 1998 rule 3). The
strain a load produces falls as bone volume rises (Frost's mechanostat: the feedback
that ends adaptation). Sclerostin falls when the strain error is positive and rises in
disuse. Estrogen deficiency blunts the osteocytes' response to strain (bone adaptation
to loading requires estrogen receptor alpha, Lee 2003).
"""

from neurobone.model.components.refs import (
    ASSUMED,
    FROST1987,
    LEE2003,
    ROBLING2008,
    SCHRIEFER2005,
    TURNER1998,
)
from neurobone.model.definition import Component, Expression, Parameter, State

COMPONENT = Component(
    name="mechanics",
    description="mechanostat: osteocyte signal, adapting set point, sclerostin",
    parameters=(
        Parameter("unloading", 0.0, "1", "fraction of habitual loading removed (hindlimb unloading, bed rest)", "input: set by interventions"),
        Parameter("tau_M", 1.0, "day", "time constant of the osteocyte mechanical signal", f"{ROBLING2008}: sclerostin falls within 24 h of loading"),
        Parameter("tau_acc", 28.0, "day", "time constant of set-point accommodation", f"{SCHRIEFER2005}: accommodation over weeks", species="mouse"),
        Parameter("f_acc", 0.5, "1", "fraction of a sustained stimulus change the set point accommodates", f"{SCHRIEFER2005}; {TURNER1998} rule 3"),
        Parameter("n_BV", 1.0, "1", "exponent of strain on bone volume (strain ~ load / BV^n)", f"{FROST1987}; {ASSUMED} (n = 1: strain inversely proportional to bone volume)"),
        Parameter("g_scl", 1.314, "1", "sensitivity of log sclerostin to the strain error", "calibrated: MC2, MC3, MC4, MC6, MC7, HU1 (joint mouse fit); shared by humans", cv=0.2),
        Parameter("k_ER", 0.708, "1", "exponent of osteocyte mechanosensitivity on estrogen action (ER-alpha)", f"calibrated: MC7 ({LEE2003})"),
        Parameter("L_hab", 6.072, "1", "habitual daily osteogenic load index (same units as ex_load)", "calibrated: MC2, MC3, MC4, MC6, MC7, HU1 (joint mouse fit)", species="mouse"),
    ),
    states=(
        State("M", 1.0, "1", "osteocyte mechanical signal relative to habitual",
              rate="(mech_stimulus - M)/tau_M", scale=1.0),
        State("S_set", 1.0, "1", "mechanostat set point (adapts toward the habitual stimulus)",
              rate="(1 + f_acc*(M - 1) - S_set)/tau_acc", scale=1.0),
    ),
    expressions=(
        Expression("mech_stimulus", "1 - unloading + load_signal/L_hab", "1", "daily mechanical stimulus relative to habitual"),
        Expression("mechanosensitivity", "E2**k_ER", "1", "osteocyte mechanosensitivity (estrogen receptor alpha gates the response)"),
        Expression("strain_error", "1 + mechanosensitivity*(M/S_set*BV**(-n_BV) - 1)", "1", "strain signal relative to the set point (1 at homeostasis)"),
        Expression("sclerostin_rel", "exp(-g_scl*(strain_error - 1))", "1", "sclerostin relative to homeostasis"),
    ),
)

HUMAN = (
    Parameter("L_hab", 5.615, "1", "habitual daily osteogenic load index (same units as ex_load)", "calibrated: HC3 (HC4 walking a check)", species="human"),
    Parameter("tau_acc", 120.0, "day", "time constant of set-point accommodation", f"{SCHRIEFER2005} (rat, weeks) scaled to the slower human remodelling cycle; {ASSUMED}", species="human"),
)

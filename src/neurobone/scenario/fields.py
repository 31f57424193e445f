"""Field types of the YAML schemas (scenarios, populations, studies): strict numbers.

Pydantic's lax mode takes ``true`` for 1 and ``false`` for 0 in a number field, so
``minutes: true`` would be a one-minute session. :data:`Number` and :data:`Integer` refuse
booleans and keep what a YAML number may be (an int where a float is asked for; PyYAML
reads ``1e3``, without a dot, as the string ``"1e3"``, which Pydantic parses). Models that
use them set ``allow_inf_nan=False`` (:data:`STRICT`): ``.nan`` and ``.inf`` are refused
with "Input should be a finite number". :data:`Flag` is a boolean that takes only
``true``/``false``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, ConfigDict, Field

#: the configuration of every schema model: unknown fields and non-finite numbers refused
STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


def _not_bool(value):
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {str(value).lower()}")
    return value


#: a finite float (int accepted, bool refused; finiteness from the model's ``allow_inf_nan``)
Number = Annotated[float, BeforeValidator(_not_bool)]
#: an integer (bool refused)
Integer = Annotated[int, BeforeValidator(_not_bool)]
#: a boolean: ``true`` or ``false`` only (no 0/1, no strings)
Flag = Annotated[bool, Field(strict=True)]

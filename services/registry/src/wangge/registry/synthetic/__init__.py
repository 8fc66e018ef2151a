"""A synthetic subdistrict: a register shaped like a real 街道, without anyone's real data.

Census data is personal information, so tests, benchmarks and demos load a generated subdistrict
instead. It is deterministic (same seed and size, same rows) so that a failing run can be replayed,
and realistic enough to exercise what real data does: valid GB 11643 identity numbers and GB 32100
credit codes, households living in numbered dwellings, a floating population, people who moved out
or died, and the special-group tags grid workers keep.
"""

from wangge.registry.synthetic.common import (
    CENSUS_COLUMNS,
    ORGANISATION_KINDS,
    REFERENCE_DATE,
    RELATIONSHIPS,
    RESIDENCE_STATUSES,
    SIZES,
    TAGS,
    THING_KINDS,
    CodedPlace,
    Organisation,
    Size,
    Subdistrict,
    Thing,
    mobile,
    write_csv,
    write_jsonl,
)
from wangge.registry.synthetic.generator import Generator

__all__ = [
    "CENSUS_COLUMNS",
    "ORGANISATION_KINDS",
    "REFERENCE_DATE",
    "RELATIONSHIPS",
    "RESIDENCE_STATUSES",
    "SIZES",
    "TAGS",
    "THING_KINDS",
    "CodedPlace",
    "Generator",
    "Organisation",
    "Size",
    "Subdistrict",
    "Thing",
    "mobile",
    "write_csv",
    "write_jsonl",
]

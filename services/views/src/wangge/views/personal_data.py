"""How the views show a person: only the masked display values and pseudonymous ids the
producers publish in clear, never a sealed block (this service holds no data keys), and nothing
of a person once their data was erased (crypto-shredding at the registry, the cases service, the
hotline bridge or the training service): an erased person's masked values are shown as
:data:`ERASED` in every view, for every ``as_of``, and a rebuild from the log keeps them so
because the erasure event is in the log too."""

from __future__ import annotations

ERASED = "[已删除]"
"""What a view shows in place of an erased person's masked name, identity number or phone."""


def shown(masked: str | None, *, erased: bool) -> str | None:
    """A masked value as a view shows it: :data:`ERASED` once its person's data was erased."""
    if erased:
        return ERASED if masked is not None else None
    return masked

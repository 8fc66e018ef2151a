"""Access matrices of the services' APIs, as tables for the docs (``make docs``).

Generated from the routes themselves (their role dependency, see
:func:`wangge.service.auth.declared_roles`), so a table cannot drift from the code; each
service's test then calls every row as every role and checks that its table is current.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from fastapi.routing import APIRoute

from wangge.service.auth import ANY_DEPARTMENT, declared_roles

CALLERS = (
    "grid_worker", "community_staff", "subdistrict_admin", ANY_DEPARTMENT, "hotline_system",
    "trainer", "analyst", "operator",
)  # fmt: skip
"""The roles of DESIGN section 7, as the matrix's columns."""

_LABEL = {ANY_DEPARTMENT: "department:*"}


def routes(routers: Iterable[object]) -> list[APIRoute]:
    """Every API route of the given routers."""
    return [
        r for router in routers for r in getattr(router, "routes", []) if isinstance(r, APIRoute)
    ]


def method_of(route: APIRoute) -> str:
    """The route's one HTTP method."""
    return sorted(route.methods or ())[0]


def key_of(route: APIRoute) -> str:
    """The route's row of the matrix, as ``METHOD /path`` (the access tests' ids)."""
    return f"{method_of(route)} {route.path}"


def allowed(route: APIRoute) -> frozenset[str]:
    """The matrix's callers the route lets through (every one of them for an open route)."""
    roles = declared_roles(route)
    return frozenset(CALLERS) if roles is None else frozenset(roles) & frozenset(CALLERS)


def render(
    title: str,
    notes: Sequence[str],
    routes: Sequence[APIRoute],
    scope_of: Callable[[APIRoute], str],
) -> str:
    """The markdown page: ``title``, ``notes`` (markdown lines), then one row per endpoint with a
    column per role and the scope the endpoint checks."""
    header = ["method", "path", *(_LABEL.get(c, c) for c in CALLERS), "scope"]
    lines = [
        f"# {title}",
        "",
        *notes,
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for route in routes:
        let_through = allowed(route)
        marks = ["✓" if c in let_through else "✗" for c in CALLERS]
        lines.append(
            f"| {method_of(route)} | `{route.path}` | "
            + " | ".join(marks)
            + f" | {scope_of(route)} |"
        )
    return "\n".join(lines) + "\n"

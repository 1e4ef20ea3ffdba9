"""A simulated AWS account (moto) with the guide's deployment in it, for ``soc2gate demo`` and tests.

Needs the optional extra ``soc2gate[demo]`` (moto[server]). Nothing outside this package imports
moto, and importing this package does not either: moto is imported by ``soc2gate.demo.world``.
"""

from __future__ import annotations

__all__: list[str] = []

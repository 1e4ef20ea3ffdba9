"""A simulated AWS account (moto) with the guide's deployment in it, for ``soc2gate demo`` and tests.

Needs the optional extra ``soc2gate[demo]`` (moto[server]). Nothing outside this package imports
moto, and importing this package does not either: ``soc2gate.demo.world`` and the modules beside
it import moto inside functions, when a ``MotoWorld`` starts.
"""

from __future__ import annotations

__all__: list[str] = []

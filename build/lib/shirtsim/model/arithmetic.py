"""Which arithmetic VGG16 runs in on this machine: bfloat16 where the CPU has it natively, else int8
through LiteRT, else float32 (``SHIRTSIM_ARITHMETIC`` chooses by hand). The seed's kind is always float32."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from shirtsim.errors import WeightsError
from shirtsim.settings import ARITHMETIC, FLOAT32

if TYPE_CHECKING:
    from shirtsim.describe.descriptors import Kind


def uses_bfloat16(kind: Kind) -> bool:
    """Does a descriptor kind's forward pass run in bfloat16 on this machine?"""
    return kind.bfloat16 and arithmetic()[0] == "bfloat16"


def uses_int8(kind: Kind) -> bool:
    """Does a descriptor kind's forward pass run in int8 (LiteRT) on this machine?"""
    return kind.bfloat16 and arithmetic()[0] == "int8"


def arithmetic() -> tuple[str, str]:
    """The arithmetic the default descriptors run in here (``bfloat16``, ``int8`` or ``float32``)
    and why: ``$SHIRTSIM_ARITHMETIC`` (or ``$SHIRTSIM_FLOAT32``), else bfloat16 on CPUs with it
    natively, else int8 where LiteRT is installed, else float32. The seed's kind is always float32."""
    chosen = ARITHMETIC.get().lower()
    if FLOAT32.is_set():
        return "float32", "SHIRTSIM_FLOAT32 is set"
    if chosen in ("bfloat16", "int8", "float32"):
        if chosen == "int8" and not litert_available():
            raise WeightsError("SHIRTSIM_ARITHMETIC=int8 needs LiteRT: pip install ai-edge-litert")
        return chosen, f"SHIRTSIM_ARITHMETIC={chosen}"
    if chosen != "auto":
        raise WeightsError(f"SHIRTSIM_ARITHMETIC={chosen[:20]!r}: use auto, bfloat16, int8 or float32.")
    if bf16_supported():
        return "bfloat16", "the CPU has native bfloat16 (AVX512_BF16 or AMX)"
    if litert_available():
        return "int8", "no native bfloat16: int8 through LiteRT and XNNPACK (VNNI where the CPU has it)"
    return "float32", "no native bfloat16, and LiteRT is not installed (pip install ai-edge-litert)"


@functools.lru_cache(maxsize=1)
def litert_available() -> bool:
    import importlib.util  # noqa: PLC0415

    return importlib.util.find_spec("ai_edge_litert") is not None


@functools.lru_cache(maxsize=1)
def bf16_supported() -> bool:
    """True on CPUs with native bfloat16 dot products (AVX512_BF16 or AMX-BF16). Elsewhere
    bfloat16 is emulated and slower than float32, so it is not used there."""
    if FLOAT32.is_set():  # float32 everywhere (to compare machines)
        return False
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = f.read()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags

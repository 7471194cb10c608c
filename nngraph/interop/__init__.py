"""Front ends for other libraries' networks; each imports its library only when called.

    neat.py            neat-python genomes: a whole generation compiled into one plan (the ``neat`` extra)
    torch_modules.py   PyTorch modules traced with torch.fx: from_torch (the ``torch`` extra)
"""

from nngraph.interop.torch_modules import from_torch

__all__ = ["from_torch"]

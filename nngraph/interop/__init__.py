"""Front ends for other libraries' networks; each imports its library only when called.

    keras_models.py  Keras 3 models and ``.keras`` files (``from_keras``; the ``keras`` extra);
                     keras_chain.py reads the model's structure, keras_layers.py maps each Keras
                     layer's configuration onto nngraph's layer of the same name
    neat.py          neat-python genomes: a whole generation compiled into one plan, or one genome
                     as a network (``from_neat``; the ``neat`` extra)
    neat_json.py     neat-python's JSON network export, read without neat-python (``from_neat_json``)
    sklearn_mlp.py   scikit-learn's fitted MLPClassifier and MLPRegressor (``from_sklearn``; the
                     ``sklearn`` extra)
    onnx_import.py   an ONNX model (a chain of ops) as a network of layers (``from_onnx``; the
                     ``onnx`` extra); onnx_ops.py says which op becomes which layer
    onnx_export.py   any network or plan as an ONNX model for onnxruntime (``to_onnx``; the ``onnx``
                     extra), with onnx_nodes.py (activations, aggregations) and onnx_conv.py (Conv)
    torch_modules.py PyTorch modules traced with torch.fx (``from_torch``; the ``torch`` extra)
"""

from nngraph.interop.keras_models import from_keras
from nngraph.interop.neat import from_neat
from nngraph.interop.neat_json import from_neat_json
from nngraph.interop.onnx_import import from_onnx
from nngraph.interop.onnx_export import to_onnx
from nngraph.interop.sklearn_mlp import from_sklearn
from nngraph.interop.torch_modules import from_torch

__all__ = ["from_keras", "from_neat", "from_neat_json", "from_onnx", "from_sklearn", "from_torch", "to_onnx"]

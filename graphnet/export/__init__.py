"""Export: a trained net in formats other engines run.

`export_onnx(net, path, opset=17)` writes an ONNX model of a built test-phase net whose
sources are `Input` layers (a deploy net). The onnx package is imported only then
(`pip install graphnet[onnx]`), so importing graphnet never needs it.
"""

from .onnx import DEFAULT_OPSET, export_onnx

__all__ = ["DEFAULT_OPSET", "export_onnx"]

"""The deployment contract: G, D and the judge as SavedModel, ONNX and LiteRT, with manifest.json.

`export.artifacts` writes an export folder (TensorFlow); `export.sample` is the standalone
sampler every folder carries (numpy, onnxruntime and pillow only; it reads and verifies the
manifest and applies the judge's rules); `export.manifest` is its reading for the project.
"""

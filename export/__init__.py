"""The deployment contract: G and D as SavedModel and ONNX, with manifest.json.

`export.artifacts` writes an export folder (TensorFlow); `export.manifest` reads and
verifies one without TensorFlow.
"""

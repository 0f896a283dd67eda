"""The trained presets that ship with gan-zoo: one folder per Fashion-MNIST recipe.

Each folder is a preset as `zoo.presets` describes (card, recipe, model config, float16
weights, judge). `make presets` trains and writes them all again; `benchmarks/zoo_table.py`
turns their cards into the README's table and draws docs/zoo/.
"""

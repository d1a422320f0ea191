"""Control family (MuJoCo Hopper, HalfCheetah, Walker2d): experts, splits, primitives.

Needs the ``control`` extra: ``pip install 'aihfbench[control]'``.
"""
